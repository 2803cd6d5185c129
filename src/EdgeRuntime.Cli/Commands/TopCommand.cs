using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using EdgeRuntime.Reporting;
using EdgeRuntime.Client;

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
                        recent.Enqueue(StatusText.Describe(serverEvent));
                        while (recent.Count > RecentEvents)
                        {
                            recent.Dequeue();
                        }
                    }
                    using var frame = new StringWriter(CultureInfo.InvariantCulture);
                    StatusText.Render(status, throughput, recent, frame);
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
}
