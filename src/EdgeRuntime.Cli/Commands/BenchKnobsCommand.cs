using System.CommandLine;
using EdgeRuntime.Bench.Energy;
using EdgeRuntime.Evaluation.Reporting;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert bench-knobs`: daemon CPU per inference at a fixed request rate for each threads/spin setting.</summary>
internal static class BenchKnobsCommand
{
    public static Command Create(CliContext context)
    {
        var bundle = new Argument<string>("bundle") { Description = "Bundle directory (or .onnx file) the daemon serves" };
        var rate = new Option<double>("--rate") { Description = "Requests per second", DefaultValueFactory = _ => 10 };
        var seconds = new Option<double>("--seconds") { Description = "Measured seconds per setting", DefaultValueFactory = _ => 20 };
        var settle = new Option<double>("--settle") { Description = "Seconds at the rate before measuring (the governor settles)", DefaultValueFactory = _ => 5 };
        var knobs = new Option<string[]>("--knobs") { Description = "Settings to measure (default: default 1 all all,spin); 'default' lets the governor choose", AllowMultipleArgumentsPerToken = true };
        var shape = new Option<string[]>("--shape") { Description = "NAME=DIMS for symbolic input dimensions, e.g. input_ids=1x128", AllowMultipleArgumentsPerToken = true };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
        var command = new Command("bench-knobs", "Start the daemon per threads/spin setting, send requests at a fixed rate, and report its CPU-seconds per inference against single-thread compute measured in this run");
        command.Arguments.Add(bundle);
        foreach (var option in new Option[] { rate, seconds, settle, knobs, shape, json })
        {
            command.Options.Add(option);
        }
        command.SetAction(async (result, cancellation) =>
        {
            var shapes = new Dictionary<string, long[]>();
            foreach (string text in result.GetValue(shape) ?? [])
            {
                int eq = text.IndexOf('=');
                if (eq <= 0 || !TryDims(text[(eq + 1)..], out var dims))
                {
                    throw new CliError($"--shape '{text}' must be NAME=DIMS such as input_ids=1x128");
                }
                shapes[text[..eq]] = dims;
            }
            string?[] settings = result.GetValue(knobs) is { Length: > 0 } given
                ? [.. given.Select(k => k == "default" ? null : k)]
                : [null, "1", "all", "all,spin"];
            string self = Environment.ProcessPath ?? throw new CliError("cannot tell which executable to start the daemon with");
            var daemon = Path.GetFileNameWithoutExtension(self) == "dotnet"
                ? new KnobBenchmark.DaemonCommand(self, [typeof(BenchKnobsCommand).Assembly.Location])
                : new KnobBenchmark.DaemonCommand(self, []);
            bool asJson = result.GetValue(json);
            var report = await KnobBenchmark.RunAsync(new KnobBenchmark.Settings(
                result.GetValue(bundle)!, result.GetValue(rate), TimeSpan.FromSeconds(result.GetValue(seconds)), settings, shapes, daemon,
                Path.Combine(Path.GetTempPath(), $"edgert-bench-knobs-{Environment.ProcessId}"), TimeSpan.FromSeconds(result.GetValue(settle))),
                asJson ? null : context.Error, cancellation);
            if (asJson)
            {
                context.Out.WriteLine(ReportJson.Serialize(report));
                return 0;
            }
            context.Out.WriteLine($"machine: {report.Machine}; ISA {report.Isa}");
            context.Out.WriteLine($"{report.Bundle} ({report.Variant}) at {report.RatePerSecond:0.#} req/s, {report.Seconds:0} s per setting; single-thread compute in this run: {report.BaselineCpuMs:F2} ms CPU, {report.BaselineWallMs:F2} ms wall");
            var table = new TextTable("setting", "requests", "failed", "daemon CPU s", "CPU ms/inference", "vs 1-thread compute", "idle CPU ms/s", "net of idle", "p50 ms", "p95 ms");
            foreach (var s in report.Settings)
            {
                table.Add(s.Setting, s.Requests, s.Failures, Math.Round(s.DaemonCpuSeconds, 2), Math.Round(s.CpuSecondsPerInference * 1000, 2),
                    $"{s.Ratio:F2}x", Math.Round(s.IdleCpuMsPerSecond, 1), $"{s.NetRatio:F2}x", Math.Round(s.P50Ms, 2), Math.Round(s.P95Ms, 2));
            }
            table.WriteTo(context.Out);
            context.Out.WriteLine($"load average during the run: {report.LoadAverage}");
            return report.Settings.Any(s => s.Failures > 0) ? 1 : 0;
        });
        return command;
    }

    private static bool TryDims(string text, out long[] dims)
    {
        var parts = text.Split('x');
        dims = new long[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i], out dims[i]) || dims[i] < 1)
            {
                return false;
            }
        }
        return true;
    }
}
