using System.Globalization;
using EdgeRuntime.Reporting;

namespace EdgeRuntime.Fleet.Deployment;

public sealed record StageSummary(int Stage, string Share, int Devices, int Passed, int Failed, int Waiting, double? StartedAfterSeconds, double? Seconds);

public sealed record DeviceSummary(string DeviceId, int Stage, string? State, string? Outcome, string? ReasonCode, string? Reason, string? ActiveVersion,
    string? PreviousVersion, string? RevertTo, bool Reverted, double? DownloadMs, double? ProbationMs, double? LatencyRatio);

/// <summary>A rollout as `edgert fleet rollout status` shows it: stages, outcomes, timings.</summary>
public sealed record RolloutSummary(
    string Id,
    string Bundle,
    string Version,
    string DeviceClass,
    string State,
    string? Reason,
    string Stages,
    string MaxFailure,
    DateTimeOffset Created,
    double Seconds,
    double? HaltedAfterSeconds,
    int Devices,
    int GivenBundle,
    int Passed,
    int Failed,
    int Reverted,
    double? RevertSeconds,
    IReadOnlyDictionary<string, int> FailuresByReason,
    double? MedianDownloadMs,
    double? MedianProbationMs,
    /// <summary>Median over the devices of probation's new/replaced latency ratio.</summary>
    double? MedianLatencyRatio,
    IReadOnlyList<StageSummary> StageTable,
    IReadOnlyList<DeviceSummary> DeviceTable)
{
    public static RolloutSummary From(Rollout rollout, DateTimeOffset now)
    {
        long created = rollout.CreatedUnixMs;
        double Seconds(long? at) => at is long t ? (t - created) / 1000.0 : double.NaN;
        var given = rollout.Devices.Where(d => d.Assigned).ToList();
        var stages = rollout.Stages.Select(stage =>
        {
            var devices = rollout.Devices.Where(d => d.Stage == stage.Index).ToList();
            return new StageSummary(stage.Index + 1, RolloutPlan.FormatPercent(stage.Share), devices.Count, devices.Count(d => d.Outcome == "passed"),
                devices.Count(d => d.Outcome == "failed"), devices.Count(d => d.Assigned && d.Outcome is null),
                stage.StartedUnixMs is null ? null : Seconds(stage.StartedUnixMs),
                stage.StartedUnixMs is long started ? ((stage.FinishedUnixMs ?? now.ToUnixTimeMilliseconds()) - started) / 1000.0 : null);
        }).ToList();
        var reverted = given.Where(d => d.Reverted && d.RevertedUnixMs is not null).ToList();
        return new RolloutSummary(rollout.Id, rollout.Plan.BundleName, rollout.Plan.Version, rollout.Plan.DeviceClass, RolloutStore.Name(rollout.State), rollout.Reason,
            string.Join(",", rollout.Plan.Stages.Select(RolloutPlan.FormatPercent)), RolloutPlan.FormatPercent(rollout.Plan.MaxFailure),
            DateTimeOffset.FromUnixTimeMilliseconds(created), ((rollout.FinishedUnixMs ?? now.ToUnixTimeMilliseconds()) - created) / 1000.0,
            rollout.HaltedUnixMs is null ? null : Seconds(rollout.HaltedUnixMs), rollout.Devices.Count, given.Count,
            given.Count(d => d.Outcome == "passed"), given.Count(d => d.Outcome == "failed"), given.Count(d => d.Reverted),
            reverted.Count > 0 && rollout.HaltedUnixMs is long halted ? (reverted.Max(d => d.RevertedUnixMs!.Value) - halted) / 1000.0 : null,
            given.Where(d => d.Outcome == "failed").GroupBy(d => d.ReasonCode ?? "unknown").ToDictionary(g => g.Key, g => g.Count()),
            Median(given.Select(d => d.DownloadMs)), Median(given.Select(d => d.ProbationMs)), Median(given.Select(d => d.LatencyRatio)), stages,
            rollout.Devices.Select(d => new DeviceSummary(d.DeviceId, d.Stage + 1, d.State, d.Outcome, d.ReasonCode, d.Reason, d.ActiveVersion, d.PreviousVersion,
                d.RevertTo, d.Reverted, d.DownloadMs, d.ProbationMs, d.LatencyRatio)).ToList());
    }

    private static double? Median(IEnumerable<double?> values)
    {
        var sorted = values.OfType<double>().Order().ToList();
        return sorted.Count == 0 ? null : sorted[sorted.Count / 2];
    }

    public void WriteText(TextWriter output, bool devices = false)
    {
        var c = CultureInfo.InvariantCulture;
        output.WriteLine($"rollout {Id}: {Bundle} {Version} to {DeviceClass}, stages {Stages}, max failure {MaxFailure}: {State.ToUpperInvariant()} after {Seconds.ToString("F1", c)} s");
        if (Reason is not null)
        {
            output.WriteLine($"  {Reason}");
        }
        output.WriteLine($"  {GivenBundle} of {Devices} devices given the bundle: {Passed} passed, {Failed} failed" +
            (FailuresByReason.Count > 0 ? $" ({string.Join(", ", FailuresByReason.Select(p => $"{p.Value} {p.Key}"))})" : "") +
            (HaltedAfterSeconds is double halt ? $"; halted at {halt.ToString("F1", c)} s, {Reverted} of {GivenBundle} back on their previous version" +
                (RevertSeconds is double back ? $" {back.ToString("F1", c)} s later" : "") : "") +
            (MedianDownloadMs is double download ? $"; median download {download.ToString("F0", c)} ms" : "") +
            (MedianProbationMs is double probation ? $", probation {probation.ToString("F0", c)} ms" : "") +
            (MedianLatencyRatio is double ratio ? $", latency {ratio.ToString("F2", c)}x the replaced version" : ""));
        var table = new TextTable("stage", "share", "devices", "passed", "failed", "waiting", "started at s", "took s");
        foreach (var stage in StageTable)
        {
            table.Add(stage.Stage, stage.Share, stage.Devices, stage.Passed, stage.Failed, stage.Waiting,
                stage.StartedAfterSeconds is double s ? Math.Round(s, 1) : null, stage.Seconds is double t ? Math.Round(t, 1) : null);
        }
        table.WriteTo(output);
        var shown = DeviceTable.Where(d => devices || d.Outcome == "failed").ToList();
        if (shown.Count > 0)
        {
            var deviceTable = new TextTable("device", "stage", "state", "outcome", "reason", "latency x", "active", "sent back to", "back");
            foreach (var d in shown)
            {
                deviceTable.Add(d.DeviceId, d.Stage, d.State, d.Outcome, d.ReasonCode, d.LatencyRatio is double x ? Math.Round(x, 2) : null, d.ActiveVersion, d.RevertTo, d.RevertTo is null ? null : d.Reverted ? "yes" : "no");
            }
            deviceTable.WriteTo(output);
        }
    }
}
