using System.CommandLine;
using EdgeRuntime.Reporting;
using EdgeRuntime.Bench.Fuzzing;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert bench-protocol --fuzz N`: the frame-decoder fuzz target at scale.</summary>
internal static class BenchProtocolCommand
{
    public static Command Create(CliContext context)
    {
        var frames = new Option<long>("--fuzz") { Description = "Mutated frames to decode", DefaultValueFactory = _ => 1_000_000 };
        var seed = new Option<int>("--seed") { Description = "Random seed (the run is reproducible from it)", DefaultValueFactory = _ => 1 };
        var json = CliOutput.Json();
        var command = new Command("bench-protocol", "Fuzz the daemon's frame decoder with mutated frames: counts typed rejections, crashes, hangs and memory");
        command.Options.Add(frames);
        command.Options.Add(seed);
        command.Options.Add(json);
        command.SetAction(result =>
        {
            long count = result.GetValue(frames);
            if (count < 1)
            {
                throw new CliError("--fuzz must be at least 1");
            }
            bool asJson = result.GetValue(json);
            var report = ProtocolFuzzer.Run(count, result.GetValue(seed), progress: asJson ? null : done =>
            {
                if (done > 0 && done % 262_144 == 0)
                {
                    context.Error.WriteLine($"  {done:N0} frames ...");
                }
            });
            if (asJson)
            {
                context.Out.WriteLine(ReportJson.Serialize(report));
            }
            else
            {
                context.Out.WriteLine($"{report.Frames:N0} mutated frames in {report.Seconds:0.0} s ({report.Frames / report.Seconds:N0} frames/s), seed {report.Seed}");
                context.Out.WriteLine($"decoded whole: {report.Accepted:N0}; rejected with a typed error: {report.Rejected:N0}");
                foreach (var (code, n) in report.RejectedByCode.OrderByDescending(p => p.Value))
                {
                    context.Out.WriteLine($"  {code,-20} {n:N0}");
                }
                context.Out.WriteLine($"crashes: {report.Crashes}; hangs (> 1 s): {report.Hangs}; slowest frame: {report.MaxFrameMs:0.###} ms");
                context.Out.WriteLine($"managed heap: {Formatting.Bytes(report.StartManagedBytes)} at start, {Formatting.Bytes(report.PeakManagedBytes)} at peak");
                if (report.FirstCrash is string crash)
                {
                    context.Out.WriteLine("first crash: " + crash);
                }
            }
            return report.Crashes == 0 && report.Hangs == 0 ? 0 : 1;
        });
        return command;
    }
}
