namespace EdgeRuntime.Devices.Boards;

/// <summary>The board auto-detection chose, and what it saw (model string, Jetson release line) to choose it.</summary>
public sealed record DetectedBoard(BoardDescriptor Board, string Reason, string? Model, string? JetsonRelease);
