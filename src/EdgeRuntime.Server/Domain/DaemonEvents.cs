namespace EdgeRuntime.Server.Domain;

/// <summary>Something that happened in the daemon: published to subscribers and the telemetry log.</summary>
internal abstract record DaemonEvent(DateTimeOffset At, string? Model);

/// <summary>A model's serving variant changed; <paramref name="Code"/> is the governor's reason code when it switched.</summary>
internal sealed record VariantSwitched(string ModelName, DateTimeOffset At, string From, string To, string Reason, string? Code)
    : DaemonEvent(At, ModelName);

internal sealed record BundleReloaded(string ModelName, DateTimeOffset At, string Path) : DaemonEvent(At, ModelName);

internal sealed record ProfileInForce(DateTimeOffset At, string Detail) : DaemonEvent(At, null);

internal sealed record HintsChanged(string ModelName, DateTimeOffset At, string Detail) : DaemonEvent(At, ModelName);

internal sealed record ThermalStateChanged(DateTimeOffset At, string Detail) : DaemonEvent(At, null);
