using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using EdgeRuntime.Reporting;
using EdgeRuntime.Protocol.Messages;

namespace EdgeRuntime.Cli.Commands;

/// <summary>
/// `edgert top`: a live view of a running daemon, refreshed in place: current variant and why, sensors
/// (temperatures, frequency, battery), latency per variant, throughput, and the latest switches.
/// With output redirected, or with --once, it prints one snapshot and exits.
/// </summary>
internal static class TopCommand
{
    private const int RecentEvents = 8;

    public static Command Create(CliContext context)
    {
        var connection = new DaemonConnection();
        var interval = new Option<double>("--interval") { Description = "Seconds between refreshes", DefaultValueFactory = _ => 1.0 };
        var once = new Option<bool>("--once") { Description = "Print one snapshot and exit" };
        var json = CliOutput.Json("Print one snapshot as JSON (the status reply) and exit");
        var command = new Command("top", "Live view of a running edgertd: variant and why, temperatures, frequency, battery, p50/p95 latency, switches");
        connection.AddTo(command);
        command.Options.Add(interval);
        command.Options.Add(once);
        command.Options.Add(json);
        command.SetAction(async (result, cancellation) =>
        {
            double seconds = result.GetValue(interval);
            if (!(seconds >= 0.05 && seconds <= 3600))
            {
                throw new CliError("--interval must be between 0.05 and 3600 seconds");
            }
            bool live = !result.GetValue(once) && ReferenceEquals(context.Out, Console.Out) && !Console.IsOutputRedirected;
            await using var client = connection.CreateClient(result);
            if (result.GetValue(json))
            {
                context.Out.WriteLine(ReportJson.Serialize(await DaemonCall.RunAsync(() => client.StatusAsync(cancellationToken: cancellation))));
                return 0;
            }
            var recent = new Queue<string>();
            var subscription = live ? await DaemonCall.RunAsync(() => client.SubscribeAsync(["switch", "reload", "thermal"], cancellation)) : null;
            long previousCompleted = -1;
            long previousAt = 0;
            try
            {
                while (true)
                {
                    var status = await DaemonCall.RunAsync(() => client.StatusAsync(cancellationToken: cancellation));
                    long now = Stopwatch.GetTimestamp();
                    double? throughput = previousCompleted < 0 ? null : (status.Server.Completed - previousCompleted) / Stopwatch.GetElapsedTime(previousAt, now).TotalSeconds;
                    previousCompleted = status.Server.Completed;
                    previousAt = now;
                    while (subscription is not null && subscription.Events.TryRead(out var serverEvent))
                    {
                        recent.Enqueue(Describe(serverEvent));
                        while (recent.Count > RecentEvents)
                        {
                            recent.Dequeue();
                        }
                    }
                    using var frame = new StringWriter(CultureInfo.InvariantCulture);
                    Render(status, throughput, recent, frame);
                    if (!live)
                    {
                        context.Out.Write(frame.ToString());
                        return 0;
                    }
                    // Home and clear, then the frame: a flicker-free enough refresh on any ANSI terminal.
                    context.Out.Write("\u001b[H\u001b[2J" + frame);
                    context.Out.Flush();
                    try
                    {
                        await Task.Delay(TimeSpan.FromSeconds(seconds), cancellation);
                    }
                    catch (OperationCanceledException)
                    {
                        return 0;
                    }
                }
            }
            finally
            {
                if (subscription is not null)
                {
                    await subscription.DisposeAsync();
                }
            }
        });
        return command;
    }

    public static void Render(StatusResponse status, double? throughput, IEnumerable<string> recent, TextWriter output)
    {
        var s = status.Server;
        output.WriteLine($"edgertd {s.Version}  up {TimeSpan.FromMilliseconds(s.UptimeMs):d\\.hh\\:mm\\:ss}  {(s.Healthy ? "healthy" : "UNHEALTHY")}{(s.Draining ? "  draining" : "")}");
        output.WriteLine($"conns {s.Connections}  workers {s.Workers}  queue {s.QueueDepth}/{s.QueueCapacity}  running {s.InFlight}  " +
            $"req/s {(throughput is double t ? t.ToString("0.#", CultureInfo.InvariantCulture) : "-")}  done {s.Completed}  failed {s.Failed}  overloaded {s.Overloaded}  expired {s.Expired}  cancelled {s.Cancelled}");
        if (status.Governor is { } governor)
        {
            output.WriteLine(StatusCommand.DescribeGovernor(governor) +
                (governor.FailingForMs is long failing ? $"  FAILING {failing} ms: {governor.LastError}" : ""));
        }
        output.WriteLine();
        WriteSensors(status, output);
        foreach (var model in status.Models)
        {
            output.WriteLine();
            output.WriteLine($"{model.Name}  variant {model.CurrentVariant}  switches {model.Switches}  reloads {model.Reloads}");
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

    private static string Describe(ServerEvent e)
    {
        string at = DateTimeOffset.FromUnixTimeMilliseconds(e.AtUnixMs).ToString("HH:mm:ss", CultureInfo.InvariantCulture);
        string what = e.Switch is { } s ? $"{e.Model}: {s.From} -> {s.To} ({s.Reason})" : $"{e.Model}: {e.Detail}";
        return $"{at} {e.Kind} {what}{(e.Dropped > 0 ? $" [{e.Dropped} dropped]" : "")}";
    }
}
