using System.Diagnostics;
using System.Globalization;
using EdgeRuntime.Bundles;
using EdgeRuntime.Deployment.Signing;
using EdgeRuntime.Inference;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Deployment;

/// <summary>What a newly activated version must show before the device keeps it.</summary>
public sealed record ProbationOptions
{
    /// <summary>Fail when the new version's median latency on the reference inputs exceeds the replaced one's by this factor.</summary>
    public double MaxLatencyRatio { get; init; } = 1.3;
    /// <summary>Timed runs per reference input and version, the two versions alternating so both see the same load.</summary>
    public int LatencyRounds { get; init; } = 15;
    /// <summary>How long live traffic is watched (error rate, SLO attainment) before the version is committed.</summary>
    public TimeSpan Period { get; init; } = TimeSpan.FromMinutes(5);
    public double MaxErrorRate { get; init; } = 0.01;
    public double MinSloAttainment { get; init; } = 0.9;
    /// <summary>Below this many requests in the period, error rate and SLO attainment are reported but not judged.</summary>
    public long MinRequests { get; init; } = 20;
    /// <summary>Threads of the private sessions probation runs the reference inputs on.</summary>
    public int Threads { get; init; } = 1;

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLatencyRatio, 1.0, nameof(MaxLatencyRatio));
        ArgumentOutOfRangeException.ThrowIfLessThan(LatencyRounds, 1, nameof(LatencyRounds));
        ArgumentOutOfRangeException.ThrowIfLessThan(Period, TimeSpan.Zero, nameof(Period));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxErrorRate, nameof(MaxErrorRate));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MinSloAttainment, 1.0, nameof(MinSloAttainment));
        ArgumentOutOfRangeException.ThrowIfNegative(MinRequests, nameof(MinRequests));
        ArgumentOutOfRangeException.ThrowIfLessThan(Threads, 1, nameof(Threads));
    }
}

/// <summary>Counters of live requests for one bundle name, cumulative since the serving side started.</summary>
public sealed record ServingCounters(long Requests, long Failures, long SloMet);

/// <summary>Where probation reads live traffic: the daemon's or a simulated device's request counters.</summary>
public interface IServingHealth
{
    ServingCounters Read(string bundleName);
}

/// <summary>
/// The health gate: the reference checks on the new version, its latency against the version it replaced
/// (both run here, alternating, in the same window), then error rate and SLO attainment of live traffic over
/// the probation period. The first failure ends it; figures say what was measured.
/// </summary>
internal sealed class Probation(ProbationOptions options, IServingHealth? health, TimeProvider time)
{
    public async Task<(string? Failure, Dictionary<string, double> Figures)> RunAsync(
        string bundleName, VerifiedBundle candidate, string? previousDirectory, CancellationToken cancellationToken)
    {
        var figures = new Dictionary<string, double>(StringComparer.Ordinal);
        long started = time.GetTimestamp();
        var before = health?.Read(bundleName);
        string? failure = await Task.Run(() => CheckOffline(candidate, previousDirectory, figures, cancellationToken), cancellationToken).ConfigureAwait(false);
        if (failure is not null)
        {
            return (failure, figures);
        }
        var remaining = options.Period - time.GetElapsedTime(started);
        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining, time, cancellationToken).ConfigureAwait(false);
        }
        figures["probation_seconds"] = time.GetElapsedTime(started).TotalSeconds;
        if (health is not null && before is not null)
        {
            failure = JudgeTraffic(before, health.Read(bundleName), figures);
        }
        return (failure, figures);
    }

    private string? CheckOffline(VerifiedBundle candidate, string? previousDirectory, Dictionary<string, double> figures, CancellationToken cancellationToken)
    {
        ReferenceChecks? checks = null;
        if (candidate.Manifest.ReferenceChecks is { } file)
        {
            try
            {
                checks = ReferenceChecks.Load(Path.Combine(candidate.Directory, file.File));
            }
            catch (BundleException e)
            {
                return e.Message;
            }
        }
        using var fresh = TryOpen(candidate.Directory, checks?.Variant, out string? problem);
        if (fresh is null)
        {
            return $"version {candidate.Manifest.Version} cannot serve: {problem}";
        }
        NamedTensor[][] inputs;
        if (checks is not null)
        {
            figures["reference_samples"] = checks.Samples.Count;
            double worst = 0;
            for (int i = 0; i < checks.Samples.Count; i++)
            {
                var comparison = checks.Compare(i, Run(fresh, checks.Samples[i].InputTensors(), cancellationToken).Outputs);
                worst = Math.Max(worst, comparison.MaxDeviation);
                figures["reference_max_deviation"] = worst;
                if (comparison.Problem is not null)
                {
                    return comparison.Problem;
                }
            }
            inputs = [.. checks.Samples.Select(s => s.InputTensors())];
        }
        else
        {
            figures["reference_samples"] = 0;
            inputs = [ZeroInputs(fresh.Bundle.Manifest, fresh.Inputs)];
        }
        if (previousDirectory is null)
        {
            return null;
        }
        using var replaced = TryOpen(previousDirectory, null, out problem);
        if (replaced is null)
        {
            figures["latency_compared"] = 0;
            return null;
        }
        return CompareLatency(fresh, replaced, inputs, figures, cancellationToken);
    }

    private string? CompareLatency(ModelRuntime fresh, ModelRuntime replaced, NamedTensor[][] inputs, Dictionary<string, double> figures, CancellationToken cancellationToken)
    {
        var freshTimes = new List<double>();
        var replacedTimes = new List<double>();
        // Each pair runs back to back, so a burst of other load slows both alike; the median of the pairs' ratios
        // is steadier on a busy device than the ratio of the two medians.
        var pairRatios = new List<double>();
        try
        {
            foreach (var sample in inputs)
            {
                Run(fresh, sample, cancellationToken);
                Run(replaced, sample, cancellationToken);
            }
            for (int round = 0; round < options.LatencyRounds; round++)
            {
                foreach (var sample in inputs)
                {
                    // Alternate which goes first, so neither always runs on a warmer cache.
                    var (first, firstTimes, second, secondTimes) = round % 2 == 0
                        ? (fresh, freshTimes, replaced, replacedTimes)
                        : (replaced, replacedTimes, fresh, freshTimes);
                    firstTimes.Add(Timed(first, sample, cancellationToken));
                    secondTimes.Add(Timed(second, sample, cancellationToken));
                    if (replacedTimes[^1] > 0)
                    {
                        pairRatios.Add(freshTimes[^1] / replacedTimes[^1]);
                    }
                }
            }
        }
        catch (Exception e) when (e is InvalidInputException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            // The replaced version takes other inputs: nothing to compare against, and not the new version's fault.
            figures["latency_compared"] = 0;
            return null;
        }
        double freshMedian = Median(freshTimes), replacedMedian = Median(replacedTimes);
        double ratio = pairRatios.Count > 0 ? Median(pairRatios) : 1;
        figures["latency_compared"] = 1;
        figures["latency_ms"] = freshMedian;
        figures["latency_previous_ms"] = replacedMedian;
        figures["latency_ratio"] = ratio;
        return ratio > options.MaxLatencyRatio
            ? $"latency {F(ratio)}x the replaced version's (median of paired runs; medians {F(freshMedian)} and {F(replacedMedian)} ms; limit {F(options.MaxLatencyRatio)}x)"
            : null;
    }

    private string? JudgeTraffic(ServingCounters before, ServingCounters after, Dictionary<string, double> figures)
    {
        long requests = after.Requests - before.Requests;
        long failures = after.Failures - before.Failures;
        long met = after.SloMet - before.SloMet;
        figures["requests"] = requests;
        if (requests <= 0)
        {
            return null;
        }
        double errorRate = (double)failures / requests, attainment = (double)met / requests;
        figures["error_rate"] = errorRate;
        figures["slo_attainment"] = attainment;
        if (requests < options.MinRequests)
        {
            return null;
        }
        if (errorRate > options.MaxErrorRate)
        {
            return $"error rate {F(errorRate * 100)}% over {requests} requests exceeds {F(options.MaxErrorRate * 100)}%";
        }
        return attainment < options.MinSloAttainment
            ? $"SLO attainment {F(attainment * 100)}% over {requests} requests is below {F(options.MinSloAttainment * 100)}%"
            : null;
    }

    private ModelRuntime? TryOpen(string directory, string? variant, out string? problem)
    {
        var runtimeOptions = new RuntimeOptions
        {
            IntraOpThreads = options.Threads,
            InitialVariant = variant,
            ValidateAllVariantsOnOpen = false,
        };
        try
        {
            problem = null;
            return ModelRuntime.Open(directory, runtimeOptions);
        }
        catch (Exception e) when (e is BundleException or VariantUnavailableException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException or KeyNotFoundException)
        {
            problem = e.Message;
            return null;
        }
    }

    /// <summary>Inputs for timing when the bundle has no reference checks: zeros at the calibration or smallest shapes.</summary>
    private static NamedTensor[] ZeroInputs(BundleManifest manifest, IReadOnlyList<TensorSignature> signatures) =>
    [
        .. signatures.Select(s => NamedTensor.Zeros(s.Name, s.ElementType,
            manifest.InputShapes?.GetValueOrDefault(s.Name) ?? [.. s.Shape.Select(d => d.Size ?? 1)])),
    ];

    private static InferenceResult Run(ModelRuntime runtime, NamedTensor[] inputs, CancellationToken cancellationToken) =>
        runtime.Run(inputs, cancellationToken);

    private static double Timed(ModelRuntime runtime, NamedTensor[] inputs, CancellationToken cancellationToken)
    {
        long start = Stopwatch.GetTimestamp();
        Run(runtime, inputs, cancellationToken);
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count == 0 ? 0 : values[values.Count / 2];
    }

    private static string F(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
