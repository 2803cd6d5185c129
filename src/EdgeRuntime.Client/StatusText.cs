using System.Globalization;
using EdgeRuntime.Protocol.Messages;
using EdgeRuntime.Reporting;

namespace EdgeRuntime.Client;

/// <summary>A daemon's status reply and events as text: the snapshot of `edgert status` and the frame of `edgert top`.</summary>
public static class StatusText
{
    /// <summary>What `edgert status` prints.</summary>
    public static void Write(StatusResponse status, TextWriter output)
    {
        var s = status.Server;
        output.WriteLine($"edgertd {s.Version}, up {TimeSpan.FromMilliseconds(s.UptimeMs):d\\.hh\\:mm\\:ss}, {(s.Healthy ? "healthy" : "UNHEALTHY")}{(s.Draining ? ", draining" : "")}");
        output.WriteLine($"connections {s.Connections} (refused {s.ConnectionsRefused}, timed out {s.ConnectionsTimedOut}), workers {s.Workers}, queue {s.QueueDepth}/{s.QueueCapacity}, in flight {s.InFlight}");
        if (status.Telemetry is { } telemetry)
        {
            output.WriteLine(DescribeTelemetry(telemetry));
        }
        output.WriteLine($"requests: completed {s.Completed}, failed {s.Failed}, overloaded {s.Overloaded}, expired {s.Expired}, cancelled {s.Cancelled}");
        output.WriteLine(DescribeCpu(s));
        if (status.Governor is { } governor)
        {
            output.WriteLine(DescribeGovernor(governor));
            if (governor.ProfileRefusal is string refusal)
            {
                output.WriteLine($"last profile refused: {refusal}");
            }
            if (governor.LastError is string error && governor.FailingForMs is not null)
            {
                output.WriteLine($"GOVERNOR FAILING for {governor.FailingForMs} ms: {error}");
            }
        }
        foreach (var model in status.Models)
        {
            output.WriteLine();
            output.WriteLine($"model {model.Name}: variant {model.CurrentVariant}, {model.Switches} switch(es), {model.Reloads} reload(s), threads {model.Knobs ?? "-"}");
            foreach (string reason in model.Reasons)
            {
                output.WriteLine($"  because: {reason}");
            }
            if (model.Hints.Count > 0)
            {
                output.WriteLine($"  hints: {string.Join(", ", model.Hints.Select(h => $"{h.Key}={h.Value}"))}");
            }
            var table = new TextTable("  variant", "state", "requests", "failures", "p50 ms", "p95 ms", "p99 ms");
            foreach (var v in model.Variants)
            {
                table.Add((v.Current ? "* " : "  ") + v.Id, v.UnavailableReason is string why ? $"{v.State}: {why}" : v.State, v.Count, v.Failures, v.P50Ms, v.P95Ms, v.P99Ms);
            }
            table.WriteTo(output);
        }
        output.WriteLine();
        output.WriteLine(status.Sensors.Count == 0
            ? "sensors: none readable on this board"
            : "sensors: " + string.Join(", ", status.Sensors.OrderBy(p => p.Key).Select(p => $"{p.Key}={p.Value.ToString("0.##", CultureInfo.InvariantCulture)}")));
        output.WriteLine($"thermal state: {status.ThermalState ?? "unknown (no temperature readable)"}" +
            (status.Throttle.Length > 0 ? $", throttle: {string.Join(" ", status.Throttle)}" : "") +
            (status.PowerMode is string mode ? $", power mode: {mode}" : ""));
    }

    /// <summary>One line: the telemetry log's state and what it lost.</summary>
    public static string DescribeTelemetry(TelemetryStatus t) =>
        $"telemetry: {t.State}, {t.LostRecords} record(s) lost, {t.WriteErrors} write error(s)" +
        (t.FailingSinceUnixMs is long since ? $"; WRITES FAILING since {DateTimeOffset.FromUnixTimeMilliseconds(since):HH:mm:ss}: {t.LastError}" : "");

    /// <summary>The daemon's CPU line: total, per inference over the recent window, share of the cores, energy estimate.</summary>
    public static string DescribeCpu(ServerStatus s) =>
        FormattableString.Invariant($"cpu: {s.CpuSeconds:0.##} s since start; last {s.CpuWindowSeconds:0} s: ") +
        (s.CpuSecondsPerInference is double perInference ? FormattableString.Invariant($"{perInference * 1000:0.##} ms CPU/inference, ") : "no inferences, ") +
        FormattableString.Invariant($"{s.CpuUtilisation:P1} of the cores") +
        (s.EnergyMillijoulesPerInference is double mj ? FormattableString.Invariant($", ~{mj:0.##} mJ/inference (board power model)") : "");

    /// <summary>One line: board, profile in force, whether the governor switches, and how its ticks fare.</summary>
    public static string DescribeGovernor(GovernorStatus g) =>
        $"board {g.Board} ({g.BoardReason}); profile {g.DeviceClass} v{g.ProfileVersion} ({g.ProfileProvenance}, from {g.ProfileFrom}); " +
        $"governor {(g.Adaptive ? "adaptive" : "off (sensors only)")}, tick {g.TickMs.ToString("0.##", CultureInfo.InvariantCulture)} ms, {g.Ticks} ticks, {g.TickFailures} failed";

    /// <summary>One frame of `edgert top`.</summary>
    public static void Render(StatusResponse status, double? throughput, IEnumerable<string> recent, TextWriter output)
    {
        var s = status.Server;
        output.WriteLine($"edgertd {s.Version}  up {TimeSpan.FromMilliseconds(s.UptimeMs):d\\.hh\\:mm\\:ss}  {(s.Healthy ? "healthy" : "UNHEALTHY")}{(s.Draining ? "  draining" : "")}");
        output.WriteLine($"conns {s.Connections}  workers {s.Workers}  queue {s.QueueDepth}/{s.QueueCapacity}  running {s.InFlight}  " +
            $"req/s {(throughput is double t ? t.ToString("0.#", CultureInfo.InvariantCulture) : "-")}  done {s.Completed}  failed {s.Failed}  overloaded {s.Overloaded}  expired {s.Expired}  cancelled {s.Cancelled}");
        if (status.Telemetry is { } telemetry)
        {
            output.WriteLine(DescribeTelemetry(telemetry));
        }
        output.WriteLine(DescribeCpu(s));
        if (status.Governor is { } governor)
        {
            output.WriteLine(DescribeGovernor(governor) +
                (governor.FailingForMs is long failing ? $"  FAILING {failing} ms: {governor.LastError}" : ""));
        }
        output.WriteLine();
        WriteSensors(status, output);
        foreach (var model in status.Models)
        {
            output.WriteLine();
            output.WriteLine($"{model.Name}  variant {model.CurrentVariant}  switches {model.Switches}  reloads {model.Reloads}  threads {model.Knobs ?? "-"}");
            output.WriteLine($"  why: {(model.Reasons.Length == 0 ? "-" : model.Reasons[0])}");
            foreach (string earlier in model.Reasons.Skip(1).Take(3))
            {
                output.WriteLine($"       {earlier}");
            }
            if (model.Hints.Count > 0)
            {
                output.WriteLine($"  hints: {string.Join(", ", model.Hints.Select(h => $"{h.Key}={h.Value}"))}");
            }
            if (model.LastSwitch is { } last)
            {
                output.WriteLine($"  last switch: {last.From} -> {last.To} at {DateTimeOffset.FromUnixTimeMilliseconds(last.AtUnixMs):HH:mm:ss} ({last.Reason})");
            }
            var table = new TextTable("  variant", "state", "requests", "fail", "p50 ms", "p95 ms", "ewma ms");
            foreach (var v in model.Variants)
            {
                table.Add((v.Current ? "> " : "  ") + v.Id, v.State, v.Count, v.Failures, v.P50Ms, v.P95Ms, v.EwmaMs);
            }
            table.WriteTo(output);
        }
        var events = recent.ToList();
        if (events.Count > 0)
        {
            output.WriteLine();
            output.WriteLine("recent events");
            foreach (string line in events)
            {
                output.WriteLine("  " + line);
            }
        }
    }

    private static void WriteSensors(StatusResponse status, TextWriter output)
    {
        if (status.Sensors.Count == 0)
        {
            output.WriteLine($"thermal {status.ThermalState ?? "-"}  sensors: none readable on this board");
            return;
        }
        string Group(Func<string, bool> match) => string.Join("  ", status.Sensors.Where(p => match(p.Key)).OrderBy(p => p.Key)
            .Select(p => $"{p.Key} {p.Value.ToString("0.#", CultureInfo.InvariantCulture)}"));
        static bool Has(string key, string word) => key.Contains(word, StringComparison.OrdinalIgnoreCase);
        output.WriteLine($"thermal {status.ThermalState ?? "-"}  temperatures: {Group(k => Has(k, "temp") || Has(k, "thermal"))}" +
            (status.Throttle.Length > 0 ? $"  throttle: {string.Join(" ", status.Throttle)}" : "") +
            (status.PowerMode is string mode ? $"  power mode: {mode}" : ""));
        output.WriteLine($"frequency: {Group(k => Has(k, "freq"))}");
        output.WriteLine($"battery: {Group(k => Has(k, "batt"))}");
        string other = Group(k => !Has(k, "temp") && !Has(k, "thermal") && !Has(k, "freq") && !Has(k, "batt"));
        if (other.Length > 0)
        {
            output.WriteLine($"other: {other}");
        }
    }

    /// <summary>One line of the recent-events list.</summary>
    public static string Describe(ServerEvent e)
    {
        string at = DateTimeOffset.FromUnixTimeMilliseconds(e.AtUnixMs).ToString("HH:mm:ss", CultureInfo.InvariantCulture);
        string what = e.Switch is { } s ? $"{e.Model}: {s.From} -> {s.To} ({s.Reason})" : $"{e.Model}: {e.Detail}";
        return $"{at} {e.Kind} {what}{(e.Dropped > 0 ? $" [{e.Dropped} dropped]" : "")}";
    }
}
