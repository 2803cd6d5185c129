using System.Diagnostics;
using System.Text;

namespace EdgeRuntime.Bench.Durability;

/// <summary>
/// A process a crash test starts and kills: both streams redirected, its standard error collected as it comes so
/// the report can quote it when the process dies on its own. The caller reads standard output its own way.
/// </summary>
internal sealed class KillableChild : IDisposable
{
    private readonly StringBuilder _errors = new();

    public KillableChild(ProcessStartInfo start, string what)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        Process = new Process { StartInfo = start };
        Process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_errors)
                {
                    _errors.AppendLine(e.Data);
                }
            }
        };
        What = what;
    }

    public Process Process { get; }
    public string What { get; }

    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToString().Trim();
            }
        }
    }

    public void Start()
    {
        if (!Process.Start())
        {
            throw new InvalidOperationException($"could not start the {What} '{Process.StartInfo.FileName}'");
        }
        Process.BeginErrorReadLine();
    }

    /// <summary>SIGKILL on Unix (no finalizers, no flush, no disposal: what a crash or an OOM kill leaves), then waits for it.</summary>
    /// <returns>Whether it had exited on its own before.</returns>
    public bool Kill()
    {
        bool exitedOnItsOwn = Process.HasExited;
        if (!exitedOnItsOwn)
        {
            Process.Kill();
        }
        Process.WaitForExit();
        return exitedOnItsOwn;
    }

    public void Dispose() => Process.Dispose();
}
