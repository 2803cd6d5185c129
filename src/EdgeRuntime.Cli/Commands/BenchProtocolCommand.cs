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
            context.Write(asJson, report, (output, r) => r.WriteText(output));
            return report.Crashes == 0 && report.Hangs == 0 ? 0 : 1;
        });
        return command;
    }
}
