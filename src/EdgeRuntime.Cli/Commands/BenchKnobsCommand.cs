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
        var knobs = new Option<string[]>("--knobs") { Description = "Settings to measure (default: default 1 all all,spin); 'default' lets the governor choose, 'slo=MS' too with that p95 SLO hint", AllowMultipleArgumentsPerToken = true };
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
            var daemon = Daemon();
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
            var table = new TextTable("setting", "threads", "requests", "failed", "daemon CPU s", "CPU ms/inference", "vs 1-thread compute", "idle CPU ms/s", "net of idle", "p50 ms", "p95 ms", "daemon's own ms/inf");
            foreach (var s in report.Settings)
            {
                table.Add(s.Setting, s.DaemonKnobs ?? "-", s.Requests, s.Failures, Math.Round(s.DaemonCpuSeconds, 2), Math.Round(s.CpuSecondsPerInference * 1000, 2),
                    $"{s.Ratio:F2}x", Math.Round(s.IdleCpuMsPerSecond, 1), $"{s.NetRatio:F2}x", Math.Round(s.P50Ms, 2), Math.Round(s.P95Ms, 2),
                    s.DaemonReportedCpuMsPerInference is double own ? Math.Round(own, 2) : "-");
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

    /// <summary>`edgert bench-memory`: daemon RSS with 1, 3, 5 resident variants, per daemon option set.</summary>
    public static Command CreateMemory(CliContext context)
    {
        var variants = new Argument<string[]>("variant") { Description = "ID=MODEL.onnx, the reference first", Arity = ArgumentArity.OneOrMore };
        var counts = new Option<int[]>("--counts") { Description = "Resident variant counts (default: 1 3 5)", AllowMultipleArgumentsPerToken = true };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
        var command = new Command("bench-memory", "Daemon RSS with 1, 3 and 5 resident variants, with the CPU memory arena on and off");
        command.Arguments.Add(variants);
        command.Options.Add(counts);
        command.Options.Add(json);
        command.SetAction(async (result, cancellation) =>
        {
            var list = new List<(string, string)>();
            foreach (string text in result.GetValue(variants)!)
            {
                int eq = text.IndexOf('=');
                if (eq <= 0 || !File.Exists(text[(eq + 1)..]))
                {
                    throw new CliError($"variant '{text}' must be ID=MODEL.onnx with an existing file");
                }
                list.Add((text[..eq], Path.GetFullPath(text[(eq + 1)..])));
            }
            int[] wanted = result.GetValue(counts) is { Length: > 0 } c ? c : [.. new[] { 1, 3, 5 }.Where(n => n <= list.Count)];
            string work = Path.Combine(Path.GetTempPath(), $"edgert-bench-memory-{Environment.ProcessId}");
            try
            {
                var report = await MemoryBenchmark.RunAsync(new MemoryBenchmark.Settings(list, wanted,
                    [("default", []), ("arena off", ["--no-arena"])], Daemon(), work), result.GetValue(json) ? null : context.Error, cancellation);
                if (result.GetValue(json))
                {
                    context.Out.WriteLine(ReportJson.Serialize(report));
                    return 0;
                }
                var table = new TextTable("daemon", "variants", "ids", "RSS MiB", "model files MiB", "vs 1 variant");
                foreach (var row in report.Rows)
                {
                    table.Add(row.Options, row.Variants, row.Ids, Math.Round(row.RssMiB, 1), Math.Round(row.FilesMiB, 1), $"{row.RatioToOne:F2}x");
                }
                table.WriteTo(context.Out);
                context.Out.WriteLine($"load average: {report.LoadAverage}");
                return 0;
            }
            finally
            {
                if (Directory.Exists(work))
                {
                    Directory.Delete(work, recursive: true);
                }
            }
        });
        return command;
    }

    private static KnobBenchmark.DaemonCommand Daemon()
    {
        string self = Environment.ProcessPath ?? throw new CliError("cannot tell which executable to start the daemon with");
        return Path.GetFileNameWithoutExtension(self) == "dotnet"
            ? new KnobBenchmark.DaemonCommand(self, [typeof(BenchKnobsCommand).Assembly.Location])
            : new KnobBenchmark.DaemonCommand(self, []);
    }
}
