using System.Diagnostics;
using EdgeRuntime.Bundles;
using EdgeRuntime.Inference;
using EdgeRuntime.Reporting;
using EdgeRuntime.Samples;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Simulation;

/// <summary>
/// The main job on the embedded default: pack the fixture model into a bundle, then serve a stream of
/// single-image requests through the runtime, switching variant as it goes, and report each variant.
/// </summary>
public static class FixtureDemo
{
    public sealed record DemoVariant(string Variant, string Precision, long SizeBytes, long? Macs, double? RecordedQuality,
        int Served, double? ServedTop1, double P50Ms, double P95Ms, double P99Ms, double InferencesPerSecond);

    public sealed record DemoReport(string Bundle, string Data, int Requests, int Switches, int Failures, IReadOnlyList<DemoVariant> Variants);

    /// <param name="log">Progress and, at the end, the table of variants (null: quiet).</param>
    public static DemoReport Run(string workDirectory, int requests, TextWriter? log, bool quick = false)
    {
        var fixture = FixtureBundle.Build(workDirectory, log, quick);
        var data = fixture.TestSet;
        string dataName = fixture.DataDescription;
        string bundleDirectory = fixture.Directory;
        var manifest = fixture.Manifest;

        using var runtime = ModelRuntime.Open(bundleDirectory);
        var ids = manifest.Variants.Select(v => v.Id).ToArray();
        int switchEvery = Math.Max(1, requests / (ids.Length * 2));
        log?.WriteLine($"serving {requests} single-image requests from the {dataName}, switching variant every {switchEvery} requests across {ids.Length} variant(s): {string.Join(", ", ids)}");

        var served = ids.ToDictionary(id => id, _ => (Count: 0, Correct: 0, Elapsed: TimeSpan.Zero));
        var random = new Random(7);
        var image = new float[28 * 28];
        int switches = 0, failures = 0;
        for (int i = 0; i < requests; i++)
        {
            if (i > 0 && i % switchEvery == 0 && ids.Length > 1)
            {
                runtime.SwitchTo(ids[(i / switchEvery) % ids.Length]);
                switches++;
            }
            long label = -1;
            if (data is not null)
            {
                int index = i % data.Count;
                data.GetSample(index).CopyTo(image);
                label = data.GetLabel(index);
            }
            else
            {
                for (int p = 0; p < image.Length; p++)
                {
                    image[p] = random.NextSingle();
                }
            }
            try
            {
                var watch = Stopwatch.StartNew();
                var result = runtime.Run([NamedTensor.FromArray(SampleModels.FashionCnnInputName, image, 1, 1, 28, 28)]);
                var logits = result.First.AsSpan<float>();
                int predicted = logits.IndexOf(System.Numerics.Tensors.TensorPrimitives.Max(logits));
                var entry = served[result.VariantId];
                served[result.VariantId] = (entry.Count + 1, entry.Correct + (predicted == label ? 1 : 0), entry.Elapsed + watch.Elapsed);
            }
            catch (Exception e) when (e is InvalidInputException or VariantUnavailableException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
            {
                failures++;
                log?.WriteLine($"request {i} failed: {e.Message}");
            }
        }

        var status = runtime.GetStatus().ToDictionary(s => s.Id);
        var variants = manifest.Variants.Select(v =>
        {
            var (count, correct, elapsed) = served[v.Id];
            var latency = status[v.Id].Latency;
            return new DemoVariant(v.Id, v.Precision, v.SizeBytes, v.Macs, v.Quality?.Value, count,
                data is null || count == 0 ? null : (double)correct / count,
                latency.P50Ms, latency.P95Ms, latency.P99Ms, count == 0 ? 0 : count / elapsed.TotalSeconds);
        }).ToList();
        var report = new DemoReport(bundleDirectory, dataName, requests, switches, failures, variants);
        if (log is not null)
        {
            var table = new TextTable("variant", "precision", "size", "MACs", "recorded top-1", "served", "served top-1", "p50 ms", "p95 ms", "p99 ms", "inf/s");
            foreach (var v in variants)
            {
                table.Add(v.Variant, v.Precision, Formatting.Bytes(v.SizeBytes), Formatting.Count(v.Macs), Formatting.Percent(v.RecordedQuality),
                    v.Served, Formatting.Percent(v.ServedTop1), v.P50Ms, v.P95Ms, v.P99Ms, Math.Round(v.InferencesPerSecond));
            }
            table.WriteTo(log);
            log.WriteLine($"{requests} requests, {switches} switches, {failures} failed");
        }
        return report;
    }
}
