namespace EdgeRuntime.Cli;

/// <summary>A failure the user can fix; printed as one line without a stack trace.</summary>
public sealed class CliError(string message) : Exception(message);
