using System.CommandLine;
using System.Globalization;
using EdgeRuntime.Reporting;
using EdgeRuntime.Protocol.Messages;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert status`: one snapshot of a running daemon.</summary>
internal static class StatusCommand
{
    public static Command Create(CliContext context)
    {
        var connection = new DaemonConnection();
        var model = new Option<string?>("--model") { Description = "Only this model" };
        var json = CliOutput.Json("Print the status as JSON");
        var command = new Command("status", "Ask a running edgertd for its models, current variants and why (the governor's reasons), latency, queue, sensors and profile");
        connection.AddTo(command);
        command.Options.Add(model);
        command.Options.Add(json);
        command.SetAction(async (result, cancellation) =>
        {
            await using var client = connection.CreateClient(result);
            var status = await DaemonCall.RunAsync(() => client.StatusAsync(result.GetValue(model), cancellation));
            if (result.GetValue(json))
            {
                context.Out.WriteLine(ReportJson.Serialize(status));
                return 0;
            }
            Write(status, context.Out);
            return 0;
        });
        return command;
    }

    public static void Write(StatusResponse status, TextWriter output)
    {
        var s = status.Server;
        output.WriteLine($"edgertd {s.Version}, up {TimeSpan.FromMilliseconds(s.UptimeMs):d\\.hh\\:mm\\:ss}, {(s.Healthy ? "healthy" : "UNHEALTHY")}{(s.Draining ? ", draining" : "")}");
        output.WriteLine($"connections {s.Connections}, workers {s.Workers}, queue {s.QueueDepth}/{s.QueueCapacity}, in flight {s.InFlight}");
        output.WriteLine($"requests: completed {s.Completed}, failed {s.Failed}, overloaded {s.Overloaded}, expired {s.Expired}, cancelled {s.Cancelled}");
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
            output.WriteLine($"model {model.Name}: variant {model.CurrentVariant}, {model.Switches} switch(es), {model.Reloads} reload(s)");
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
                table.Add((v.Current ? "* " : "  ") + v.Id, v.State, v.Count, v.Failures, v.P50Ms, v.P95Ms, v.P99Ms);
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

    /// <summary>One line: board, profile in force, whether the governor switches, and how its ticks fare.</summary>
    public static string DescribeGovernor(GovernorStatus g) =>
        $"board {g.Board} ({g.BoardReason}); profile {g.DeviceClass} v{g.ProfileVersion} ({g.ProfileProvenance}, from {g.ProfileFrom}); " +
        $"governor {(g.Adaptive ? "adaptive" : "off (sensors only)")}, tick {g.TickMs.ToString("0.##", CultureInfo.InvariantCulture)} ms, {g.Ticks} ticks, {g.TickFailures} failed";
}
