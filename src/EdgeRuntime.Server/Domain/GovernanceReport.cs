using EdgeRuntime.Devices;
using EdgeRuntime.Governance;

namespace EdgeRuntime.Server.Domain;

/// <summary>The device loop's state: the last sensor snapshot, the board, the profile in force and the health of its ticks.</summary>
internal sealed record GovernanceReport(
    DeviceSnapshot? Snapshot, bool Adaptive, string Board, string BoardReason, GovernorProfile Profile, string ProfileFrom,
    string? ProfileRefusal, TimeSpan Tick, long Ticks, long TickFailures, TimeSpan? FailingFor, string? LastError);
