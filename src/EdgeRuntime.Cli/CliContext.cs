namespace EdgeRuntime.Cli;

/// <summary>Where commands write, so tests can run the CLI in-process and read what it printed.</summary>
public sealed class CliContext(TextWriter output, TextWriter error)
{
    public TextWriter Out { get; } = output;
    public TextWriter Error { get; } = error;
}
