using System.Diagnostics;
using EdgeRuntime.Bench.Durability;
using EdgeRuntime.Deployment;
using EdgeRuntime.Evaluation.Benchmarking;

namespace EdgeRuntime.Bench.Deployment;

/// <summary>What killing the deploying device process found.</summary>
public sealed record DeployCrashReport(
    int Kills,
    IReadOnlyDictionary<string, int> KillsByStep,
    int VersionsCommitted,
    int VersionsRolledBack,
    int RecoveriesWithRepairs,
    double MeanRecoveryMs,
    double MaxRecoveryMs,
    double Seconds,
    string Machine,
    string LoadAverages,
    IReadOnlyList<string> Problems)
{
    public bool Passed => Problems.Count == 0;

    public void WriteText(TextWriter output)
    {
        output.WriteLine($"machine: {Machine}; load average (1/5/15 min) at the end: {LoadAverages}");
        output.WriteLine($"{Kills} SIGKILLs of the deploying process in {Seconds:0.0} s: " + string.Join(", ", KillsByStep.Select(k => $"{k.Value} during {k.Key}")));
        output.WriteLine($"versions committed {VersionsCommitted}, rolled back by probation {VersionsRolledBack}; restarts that repaired something {RecoveriesWithRepairs}");
        output.WriteLine($"store open + recovery + verification of the active version: mean {MeanRecoveryMs:0.0} ms, max {MaxRecoveryMs:0.0} ms");
        output.WriteLine(Passed ? "every restart came up on a valid, verified active version" : "PROBLEMS:\n  " + string.Join("\n  ", Problems));
    }
}

/// <summary>
/// Kills a <see cref="DeployCrashChild"/> with SIGKILL at a random moment inside a chosen step (download, verify,
/// activate, probate, in turn), then opens the store as a restarted device would and checks that it recovers to
/// an active version whose signature and every file verify, with no staging left behind.
/// </summary>
public static class DeployCrashTest
{
    public static readonly IReadOnlyList<string> Steps = ["download", "verify", "activate", "probate"];

    /// <summary>Makes the publisher side: key, trusted keys, a good and an outputs-off template bundle.</summary>
    public static void Prepare(string workspace)
    {
        var layout = DeployCrashLayout.Of(workspace);
        var factory = new BundleFactory(layout.Publisher);
        Directory.CreateDirectory(Path.GetDirectoryName(layout.GoodTemplate)!);
        Directory.Move(factory.MakeBundle(DeployCrashChild.BundleName, 1), layout.GoodTemplate);
        Directory.Move(factory.MakeBundle(DeployCrashChild.BundleName, 1, BundleFlaw.OutputsOff), layout.BadTemplate);
    }

    public static DeployCrashReport Run(string workspace, Func<string, int, ProcessStartInfo> startChild, int kills, int seed, Action<int>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(kills, 1);
        Prepare(workspace);
        var layout = DeployCrashLayout.Of(workspace);
        var random = new Random(seed);
        var byStep = Steps.ToDictionary(s => s, _ => 0);
        var problems = new List<string>();
        var recoveryTimes = new List<double>();
        int committed = 0, rolledBack = 0, repaired = 0;
        bool everActive = false;
        var clock = Stopwatch.StartNew();
        for (int kill = 0; kill < kills && problems.Count < 10; kill++)
        {
            string target = Steps[kill % Steps.Count];
            var run = RunOnce(startChild(workspace, seed * 1000 + kill), target, random);
            if (run.Problem is not null)
            {
                problems.Add($"kill {kill + 1}: {run.Problem}");
                continue;
            }
            byStep[run.KilledIn] = byStep.GetValueOrDefault(run.KilledIn) + 1;
            everActive |= run.ActiveSeen;
            committed += run.Committed;
            rolledBack += run.RolledBack;
            long start = Stopwatch.GetTimestamp();
            try
            {
                using var store = new BundleStore(layout.StoreOptions());
                if (store.ActiveDirectory(DeployCrashChild.BundleName) is not null)
                {
                    store.VerifyActive(DeployCrashChild.BundleName);
                }
                else if (everActive)
                {
                    problems.Add($"kill {kill + 1} during {run.KilledIn}: no active version after a restart, though one was active before");
                }
                if (Directory.EnumerateFileSystemEntries(Path.Combine(layout.Store, "staging")).Any())
                {
                    problems.Add($"kill {kill + 1}: staging not emptied by recovery");
                }
                repaired += store.Recovery.Actions.Count > 0 ? 1 : 0;
            }
            catch (Exception e) when (e is DeploymentRefusedException or IOException or InvalidDataException)
            {
                problems.Add($"kill {kill + 1} during {run.KilledIn}: the restarted store has no valid active version: {e.Message}");
            }
            recoveryTimes.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            progress?.Invoke(kill + 1);
        }
        return new DeployCrashReport(kills, byStep, committed, rolledBack, repaired,
            recoveryTimes.Count == 0 ? 0 : recoveryTimes.Average(), recoveryTimes.DefaultIfEmpty(0).Max(), clock.Elapsed.TotalSeconds,
            MachineInfo.Current().ToString(), LoadAverages(), problems);
    }

    /// <summary>`edgert deploy crash-bench`: in <paramref name="given"/> (which must be empty) or a temporary directory deleted afterwards.</summary>
    public static DeployCrashReport RunChecked(string? given, Func<string, int, ProcessStartInfo> startChild, int kills, int seed, Action<int>? progress)
    {
        if (kills is < 1 or > 100_000)
        {
            throw new ArgumentException($"--kills must be within [1, 100000], not {kills}");
        }
        if (given is not null && Directory.Exists(given) && Directory.EnumerateFileSystemEntries(given).Any())
        {
            throw new ArgumentException($"--dir '{given}' is not empty; the crash test needs a directory of its own");
        }
        string workspace = given ?? Path.Combine(Path.GetTempPath(), "edgeruntime-deploy-crash", Guid.NewGuid().ToString("N"));
        try
        {
            return Run(workspace, startChild, kills, seed, progress);
        }
        finally
        {
            if (given is null)
            {
                Directory.Delete(workspace, recursive: true);
            }
        }
    }

    private sealed record ChildRun(string KilledIn, bool ActiveSeen, int Committed, int RolledBack, string? Problem);

    private static ChildRun RunOnce(ProcessStartInfo start, string target, Random random)
    {
        using var child = new KillableChild(start, "crash child");
        child.Start();
        var process = child.Process;
        string step = "startup";
        bool activeSeen = false;
        int committed = 0, rolledBack = 0;
        string? problem = null;
        var deadline = Stopwatch.StartNew();
        // Aim: let the target step pass by zero or one times (so versions also get through), wait for it to
        // begin, then kill somewhere inside it (its length varies; a kill that lands after it ends hits the next
        // step, and is counted there).
        int skip = random.Next(2);
        while (problem is null)
        {
            string? line = process.StandardOutput.ReadLine();
            if (line is null)
            {
                problem = $"the child exited during {step}: {child.Errors}";
                break;
            }
            var parts = line.Split(' ');
            if (parts[0] == "open")
            {
                activeSeen = parts[1] != "0";
            }
            else if (parts[0] == "phase")
            {
                step = parts[1];
                if (step == target && skip-- == 0)
                {
                    Thread.Sleep(random.Next(0, step is "probate" ? 200 : 30));
                    break;
                }
            }
            else if (parts[0] == "done")
            {
                activeSeen = true;
                committed += parts[2] == "committed" ? 1 : 0;
                rolledBack += parts[2] == "rolled-back" ? 1 : 0;
            }
            if (deadline.Elapsed > TimeSpan.FromSeconds(120))
            {
                problem = $"step {target} not reached within 120 s";
            }
        }
        child.Kill();
        return new ChildRun(step, activeSeen || step == "probate", committed, rolledBack, problem);
    }

    private static string LoadAverages()
    {
        try
        {
            return string.Join("/", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
