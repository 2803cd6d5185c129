namespace EdgeRuntime.Cli;

/// <summary>This very program as another process (benchmarks start daemons and `edgert status` the way an operator would).</summary>
internal static class SelfInvocation
{
    /// <summary>The executable, then the arguments that come before a subcommand (the CLI's dll when run under dotnet).</summary>
    public static (string File, string[] Prefix) Current()
    {
        string self = Environment.ProcessPath ?? throw new CliError("cannot tell which executable this program runs as");
        return Path.GetFileNameWithoutExtension(self) == "dotnet" ? (self, [typeof(SelfInvocation).Assembly.Location]) : (self, []);
    }
}
