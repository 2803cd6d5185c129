using System.Globalization;
using EdgeRuntime.Bundles;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Evaluation.Benchmarking;
using EdgeRuntime.Reporting;
using EdgeRuntime.Governance;
using EdgeRuntime.Telemetry;

namespace EdgeRuntime.Simulation;

/// <summary>One scenario's outcome in `edgert simulate --scenario`.</summary>
public sealed record ScenarioResult(string Scenario, SimulationReport Report, ScenarioVerdict Verdict, double? GainInSpans);

/// <summary>Every scenario of a file or folder, and the summary line of each.</summary>
public sealed record ScenarioRunReport(IReadOnlyList<ScenarioResult> Results, IReadOnlyList<string> Summaries, string? OutputDirectory)
{
    public void WriteSummary(TextWriter output)
    {
        output.WriteLine();
        foreach (string line in Summaries)
        {
            output.WriteLine(line);
        }
        if (OutputDirectory is not null)
        {
            output.WriteLine($"traces and plots per scenario written to {OutputDirectory}");
        }
    }
}

/// <summary>
/// The runs of `edgert simulate`: a bundle (or the embedded fixture's) against a simulated board, with variant
/// costs recorded or measured here; a folder of scenarios; real inferences in real time; traces, plots and telemetry.
/// </summary>
public static class SimulationRuns
{
    /// <summary>The bundle (or the embedded fixture's) on the board against every static variant; traces and plots into <paramref name="outputDirectory"/> when given.</summary>
    public static SimulationReport Run(SimulationOptions options, string? bundlePath, string? outputDirectory, TextWriter? log, bool measure = true)
    {
        var catalog = BoardCatalog.BuiltIn();
        if (!catalog.TryGet(options.Board, out var descriptor))
        {
            throw new ArgumentException($"unknown board '{options.Board}'; known: {string.Join(", ", catalog.Boards.Where(b => b.Simulation is not null).Select(b => b.Id))}");
        }
        if (descriptor.Simulation is null)
        {
            throw new ArgumentException($"board '{options.Board}' has no simulation parameters");
        }
        string work = Path.Combine(Path.GetTempPath(), "edgeruntime-simulate", Guid.NewGuid().ToString("N"));
        try
        {
            ModelBundle bundle = bundlePath is null
                ? ModelBundle.Open(FixtureBundle.Build(Path.Combine(work, "fixture"), log).Directory)
                : ModelBundle.OpenPath(bundlePath);
            var profile = ProfileCatalog.BuiltIn(descriptor.Id);
            var (variants, sources) = VariantCosts(bundle, descriptor, profile, measure, log);
            options = options with { CostsAreBoardFigures = !measure, Threads = ResolveThreads(options.Threads, bundle, descriptor.Id, log) };
            var report = AdaptiveSimulation.Run(variants, descriptor, profile, options, Path.Combine(work, "boards"), log is null ? null : line => log.WriteLine(line)) with { CostSources = sources };
            if (outputDirectory is not null)
            {
                WriteTraces(report, outputDirectory);
                var plots = SimulationPlots.Write(report, outputDirectory);
                log?.WriteLine($"traces and plots ({string.Join(", ", plots.Select(Path.GetFileName))}) written to {outputDirectory}");
            }
            return report;
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Recorded costs (manifest, profile, board model) or, with <paramref name="measure"/>, this machine's timings.</summary>
    public static (List<SimulatedVariant> Variants, Dictionary<string, string> Sources) VariantCosts(
        ModelBundle bundle, BoardDescriptor board, GovernorProfile profile, bool measure, TextWriter? log)
    {
        if (measure)
        {
            log?.WriteLine($"measuring each variant of '{bundle.Name}' on this machine (batch 1, interleaved rounds) ...");
            var measured = MeasureInterleaved(bundle, log);
            return (measured, measured.ToDictionary(v => v.Id, _ => $"measured here x{BoardSpeed.SlowdownFor(board.Id)}"));
        }
        using var runtime = Inference.ModelRuntime.Open(bundle);
        var serving = runtime.GetStatus().Where(s => s.State != Inference.VariantState.Unavailable).Select(s => s.Id).ToList();
        try
        {
            var (variants, sources) = RecordedCosts.Resolve(bundle.Manifest, board, profile, serving);
            foreach (var v in variants)
            {
                log?.WriteLine($"  {v.Id}: p50 {v.MeasuredP50Ms:F3} ms, p95 {v.MeasuredP95Ms:F3} ms on {board.Id} ({sources[v.Id]}), quality {v.Quality:P2}");
            }
            return (variants, sources);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException(e.Message);
        }
    }

    /// <summary>
    /// Latency of every variant measured in interleaved rounds, so load from other processes on a shared
    /// machine falls on all variants alike and their ratios hold.
    /// </summary>
    public static List<SimulatedVariant> MeasureInterleaved(ModelBundle bundle, TextWriter? log, int rounds = 30, int runsPerRound = 40)
    {
        using var runtime = Inference.ModelRuntime.Open(bundle);
        var serving = runtime.GetStatus().Where(s => s.State != Inference.VariantState.Unavailable).Select(s => s.Id).ToList();
        foreach (var missing in runtime.GetStatus().Where(s => s.State == Inference.VariantState.Unavailable))
        {
            log?.WriteLine($"  {missing.Id} left out: {missing.Reason}");
        }
        var inputs = Benchmarker.MakeInputs(runtime.Inputs, new BenchOptions { RequireSizedDimensions = false });
        var samples = serving.ToDictionary(id => id, _ => new List<double>());
        foreach (string id in serving)
        {
            for (int i = 0; i < 50; i++)
            {
                runtime.Run(inputs, id);
            }
        }
        for (int round = 0; round < rounds; round++)
        {
            foreach (string id in round % 2 == 0 ? serving : Enumerable.Reverse(serving))
            {
                for (int i = 0; i < runsPerRound; i++)
                {
                    long start = System.Diagnostics.Stopwatch.GetTimestamp();
                    runtime.Run(inputs, id);
                    samples[id].Add(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
            }
        }
        return
        [
            .. serving.Select(id =>
            {
                var times = samples[id];
                times.Sort();
                double p50 = Inference.LatencyTracker.Percentile(times, 0.5), p95 = Inference.LatencyTracker.Percentile(times, 0.95);
                log?.WriteLine($"  {id}: p50 {p50:F4} ms, p95 {p95:F4} ms here");
                return new SimulatedVariant(id, AdaptiveController.QualityOf(bundle[id].Manifest), p50, p95);
            }),
        ];
    }

    /// <summary>`--live`: real inferences in real time (at most 30 minutes) against the simulated board.</summary>
    public static LiveSimulation.LiveReport RunLive(SimulationOptions options, string? bundlePath, TextWriter? log)
    {
        if (options.Duration > TimeSpan.FromMinutes(30))
        {
            throw new ArgumentException("--live runs in real time: give a --duration of at most 30m");
        }
        var catalog = BoardCatalog.BuiltIn();
        if (!catalog.TryGet(options.Board, out var descriptor) || descriptor.Simulation is null)
        {
            throw new ArgumentException($"unknown or unsimulated board '{options.Board}'");
        }
        string work = Path.Combine(Path.GetTempPath(), "edgeruntime-simulate", Guid.NewGuid().ToString("N"));
        try
        {
            var bundle = bundlePath is null
                ? ModelBundle.Open(FixtureBundle.Build(Path.Combine(work, "fixture"), log).Directory)
                : ModelBundle.OpenPath(bundlePath);
            return LiveSimulation.Run(bundle, descriptor, options, work, log);
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Every scenario of a file or folder against one bundle; with <paramref name="log"/>, each scenario's table as it finishes.</summary>
    public static ScenarioRunReport RunScenarios(string path, string? bundlePath, string? outputDirectory, bool measure, string? fixtureCache, TextWriter? log)
    {
        var catalog = BoardCatalog.BuiltIn();
        var files = Directory.Exists(path)
            ? Directory.EnumerateFiles(path, "*.json").Where(f => !f.EndsWith(".schema.json", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList()
            : File.Exists(path) ? [path] : throw new ArgumentException($"scenario '{path}' is neither a file nor a folder");
        if (files.Count == 0)
        {
            throw new ArgumentException($"no scenario files (*.json) in {path}");
        }
        var scenarios = new List<Scenario>();
        foreach (string file in files)
        {
            try
            {
                scenarios.Add(Scenario.Load(file, catalog));
            }
            catch (ScenarioException e)
            {
                throw new ArgumentException(e.Message);
            }
        }
        string work = Path.Combine(Path.GetTempPath(), "edgeruntime-simulate", Guid.NewGuid().ToString("N"));
        var results = new List<ScenarioResult>();
        var summaries = new List<string>();
        try
        {
            ModelBundle bundle;
            if (bundlePath is null)
            {
                log?.WriteLine("model: the embedded fixture (fashion-cnn, 1.2M MACs) and the variants made of it");
                string? cached = fixtureCache is null ? null : Path.Combine(fixtureCache, "bundle");
                if (cached is not null && File.Exists(Path.Combine(cached, BundleManifest.FileName)))
                {
                    log?.WriteLine($"  reusing the fixture bundle in {cached}");
                    bundle = ModelBundle.Open(cached);
                }
                else
                {
                    bundle = ModelBundle.Open(FixtureBundle.Build(fixtureCache ?? Path.Combine(work, "fixture"), log).Directory);
                }
            }
            else
            {
                bundle = ModelBundle.OpenPath(bundlePath);
                log?.WriteLine($"model: bundle '{bundle.Name}' ({bundle.Manifest.Variants.Count} variants)");
            }
            var costsByBoard = new Dictionary<string, (List<SimulatedVariant>, Dictionary<string, string>)>();
            foreach (var scenario in scenarios)
            {
                var descriptor = catalog.Get(scenario.Board);
                var profile = scenario.ApplyTo(ProfileCatalog.BuiltIn(descriptor.Id));
                if (!costsByBoard.TryGetValue(descriptor.Id, out var costs))
                {
                    log?.WriteLine($"costs on {descriptor.Id}:");
                    costsByBoard[descriptor.Id] = costs = VariantCosts(bundle, descriptor, profile, measure, log);
                }
                var options = new SimulationOptions { Board = descriptor.Id, Scenario = scenario, CostsAreBoardFigures = !measure };
                log?.WriteLine();
                var report = AdaptiveSimulation.Run(costs.Item1, descriptor, profile, options, Path.Combine(work, "boards", scenario.Name)) with { CostSources = costs.Item2 };
                var verdict = ScenarioVerdict.Of(report);
                if (outputDirectory is not null)
                {
                    string directory = Path.Combine(outputDirectory, scenario.Name);
                    WriteTraces(report, directory);
                    SimulationPlots.Write(report, directory);
                }
                if (log is not null)
                {
                    PrintScenario(log, report, verdict, scenario);
                }
                summaries.Add(verdict.Summary(scenario.Name));
                results.Add(new ScenarioResult(scenario.Name, report with { Traces = new Dictionary<string, IReadOnlyList<TracePoint>>() }, verdict, verdict.GainInSpans));
            }
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
        return new ScenarioRunReport(results, summaries, outputDirectory);
    }

    private static SimulatedThreads? ResolveThreads(SimulatedThreads? threads, ModelBundle bundle, string boardId, TextWriter? log)
    {
        if (threads is null)
        {
            return null;
        }
        var manifest = threads.KnobCostsBundle is string other ? ModelBundle.OpenPath(other).Manifest : bundle.Manifest;
        var resolved = RecordedCosts.ResolveThreads(threads, manifest, boardId);
        log?.WriteLine($"threads: {resolved.Source}; static variants run on all cores {(resolved.SpinWindowMs > 0 ? "with spinning (ONNX Runtime's default)" : "without spinning (not modelled: no recorded spin cost)")}");
        return resolved;
    }

    private static void PrintScenario(TextWriter output, SimulationReport report, ScenarioVerdict verdict, Scenario scenario)
    {
        output.WriteLine($"== {scenario.Name} on {report.Board}: {Scenario.Format(report.DurationSeconds)}, seed {scenario.Seed}, mean {report.RatePerSecond:F0} requests/s, SLO p95 {report.SloP95Ms:F3} ms{(scenario.Description is { } d ? " — " + d : "")}");
        var table = new TextTable("policy", "SLO met", "mean quality", "throttled s", "mJ/inference", "battery h", "switches", "max °C", "off s", "");
        foreach (var outcome in report.Outcomes)
        {
            string mark = outcome.Policy == AdaptiveSimulation.AdaptivePolicy ? ""
                : outcome.Policy == verdict.BestStaticKeepingSlo?.Policy ? "best static >= 99%"
                : outcome.SloAttainment >= ScenarioVerdict.KeepsSlo ? ">= 99%" : "";
            table.Add(outcome.Policy, Formatting.Percent(outcome.SloAttainment), Formatting.Percent(outcome.MeanQuality), Math.Round(outcome.SecondsThrottled),
                Math.Round(outcome.EnergyPerInferenceMillijoules, 3), outcome.BatteryHoursAtThisLoad is double h ? Math.Round(h, 2) : null, outcome.Switches,
                Math.Round(outcome.MaxCelsius, 1), Math.Round(outcome.SecondsOff), mark);
        }
        table.WriteTo(output);
    }

    /// <summary>The policy table `edgert simulate` prints.</summary>
    public static void WriteText(TextWriter output, SimulationReport report)
    {
        output.WriteLine($"{report.Board}: {report.RatePerSecond:F0} requests/s for {report.DurationSeconds / 60:F0} min, SLO p95 {report.SloP95Ms:F3} ms, board {report.BoardSlowdown}x slower than this machine");
        var table = new TextTable("policy", "SLO met", "mean quality", "p95 ms", "max °C", "throttled s", "mJ/inference", "battery h", "switches", "share by variant");
        foreach (var outcome in report.Outcomes)
        {
            table.Add(outcome.Policy, Formatting.Percent(outcome.SloAttainment), Formatting.Percent(outcome.MeanQuality),
                double.IsFinite(outcome.P95Ms) ? outcome.P95Ms : null, Math.Round(outcome.MaxCelsius, 1), Math.Round(outcome.SecondsThrottled),
                Math.Round(outcome.EnergyPerInferenceMillijoules, 3), outcome.BatteryHoursAtThisLoad is double h ? Math.Round(h, 2) : null, outcome.Switches,
                string.Join(" ", outcome.ShareByVariant.Where(p => p.Value > 0).Select(p => $"{p.Key}:{p.Value:P0}"))
                + (outcome.SingleThreadShare > 0 ? $" (1 thread: {outcome.SingleThreadShare:P0})" : ""));
        }
        table.WriteTo(output);
    }

    /// <summary>One CSV trace per policy.</summary>
    public static void WriteTraces(SimulationReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (var (policy, trace) in report.Traces)
        {
            using var writer = new StreamWriter(Path.Combine(directory, $"trace-{policy}.csv"));
            writer.WriteLine("seconds,celsius,frequency_mhz,utilisation,variant,window_p95_ms,rate_per_second,ambient_celsius,battery_percent,external_power");
            foreach (var point in trace)
            {
                writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{point.Seconds:F1},{point.Celsius:F2},{point.FrequencyMhz:F0},{point.Utilisation:F3},{point.Variant},{point.WindowP95Ms:F4},{point.RatePerSecond:F1},{point.AmbientCelsius:F1},{point.BatteryPercent:F2},{(point.ExternalPower ? 1 : 0)}"));
            }
        }
    }

    /// <summary>90s, 30m, 2h.</summary>
    public static TimeSpan ParseDuration(string text)
    {
        text = text.Trim();
        if (text.Length >= 2 && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value > 0)
        {
            switch (text[^1])
            {
                case 's': return TimeSpan.FromSeconds(value);
                case 'm': return TimeSpan.FromMinutes(value);
                case 'h': return TimeSpan.FromHours(value);
            }
        }
        throw new ArgumentException($"--duration '{text}': expected a number with s, m or h (e.g. 90s, 30m, 2h)");
    }

    /// <summary>Writes the adaptive run of a simulation as a device's telemetry log; returns the records written.</summary>
    /// <remarks>The simulated device is named after the log directory, so several runs make a fleet.</remarks>
    public static long WriteTelemetry(SimulationReport report, string directory)
    {
        string deviceId = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)));
        var options = new TelemetryLogOptions { Directory = directory, DeviceId = deviceId, DeviceClass = report.Board };
        return SimulationTelemetry.WriteAsync(report, options).GetAwaiter().GetResult();
    }
}
