using System.ComponentModel;
using System.Diagnostics;

namespace EdgeRuntime.Devices.Sources;

/// <summary>Runs tools as child processes with a time limit.</summary>
public sealed class ProcessCommandRunner(TimeSpan timeout) : ICommandRunner
{
    public static ProcessCommandRunner Default { get; } = new(TimeSpan.FromSeconds(2));

    public Reading<string> Run(string fileName, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        try
        {
            using var process = Process.Start(start);
            if (process is null)
            {
                return Reading<string>.Unavailable($"{fileName} did not start");
            }
            var output = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                return Reading<string>.Unavailable($"{fileName} did not finish within {timeout.TotalSeconds:0.#} s");
            }
            return process.ExitCode == 0
                ? Reading<string>.Ok(output.Result)
                : Reading<string>.Unavailable($"{fileName} exited with code {process.ExitCode}: {process.StandardError.ReadToEnd().Trim()}");
        }
        catch (Win32Exception e)
        {
            return Reading<string>.Unavailable($"{fileName} is not installed or not runnable: {e.Message}");
        }
    }
}
