using EdgeRuntime.Bundles;
using EdgeRuntime.Inference;
using EdgeRuntime.Reporting;

namespace EdgeRuntime.Compression.Packing;

/// <summary>A bundle's manifest and the problem of each variant that has one, as `edgert bundle inspect` reports it.</summary>
public sealed record BundleInspection(BundleManifest Manifest, IReadOnlyDictionary<string, string?> Problems)
{
    public static BundleInspection Of(string directory)
    {
        var bundle = ModelBundle.Open(directory);
        return new(bundle.Manifest, bundle.Variants.Where(v => v.Problem is not null).ToDictionary(v => v.Id, v => v.Problem));
    }

    public void WriteText(TextWriter output)
    {
        output.WriteLine($"bundle '{Manifest.Name}' (schema {Manifest.SchemaVersion}, created {Manifest.CreatedUtc:u})");
        if (Manifest.Description is not null)
        {
            output.WriteLine($"  {Manifest.Description}");
        }
        output.WriteLine($"reference: {Manifest.ReferenceVariant}");
        output.WriteLine($"inputs:    {string.Join("; ", Manifest.Inputs)}");
        output.WriteLine($"outputs:   {string.Join("; ", Manifest.Outputs)}");
        BundleReports.WriteVariants(output, Manifest, Problems);
    }
}

/// <summary>One variant's check in `edgert bundle verify`.</summary>
public sealed record VariantCheck(string Id, bool Ok, string? Problem);

/// <summary>Every variant checked: file present, hash, loads in ONNX Runtime, inputs and outputs agree.</summary>
public sealed record BundleVerification(string Bundle, bool Ok, IReadOnlyList<VariantCheck> Variants)
{
    public static BundleVerification Of(string directory)
    {
        var bundle = ModelBundle.Open(directory);
        IReadOnlyList<(string Id, string? Problem)> checks;
        try
        {
            using var runtime = ModelRuntime.Open(bundle, new RuntimeOptions { ValidateAllVariantsOnOpen = true, MemoryBudgetBytes = 1 });
            checks = [.. runtime.GetStatus().Select(s => (s.Id, s.Reason))];
        }
        catch (BundleException)
        {
            // No variant can serve; the bundle's own checks, or the loader, say why for each.
            checks = [.. bundle.Variants.Select(v => (v.Id, v.Problem ?? "cannot be loaded"))];
        }
        return new(bundle.Name, checks.All(c => c.Problem is null), [.. checks.Select(c => new VariantCheck(c.Id, c.Problem is null, c.Problem))]);
    }

    public void WriteText(TextWriter output)
    {
        foreach (var check in Variants)
        {
            output.WriteLine(check.Problem is null ? $"ok    {check.Id}" : $"FAIL  {check.Id}: {check.Problem}");
        }
        output.WriteLine(Ok ? $"bundle '{Bundle}' is valid" : $"bundle '{Bundle}' has {Variants.Count(c => c.Problem is not null)} unusable variant(s)");
    }
}

public static class BundleReports
{
    /// <summary>The variant table of a bundle, with the problem of each that has one.</summary>
    public static void WriteVariants(TextWriter output, BundleManifest manifest, IReadOnlyDictionary<string, string?> problems)
    {
        var table = new TextTable("variant", "precision", "size", "sparsity", "channels", "MACs", "params", "quality", "agreement", "sha256", "problem");
        foreach (var v in manifest.Variants)
        {
            string? quality = v.Quality is null ? null : $"{v.Quality.Metric} {Formatting.Percent(v.Quality.Value)}";
            table.Add(v.Id, v.Precision, Formatting.Bytes(v.SizeBytes), Formatting.Percent(v.Sparsity), Formatting.Percent(v.ChannelsKept),
                Formatting.Count(v.Macs), Formatting.Count(v.Parameters), quality, Formatting.Percent(v.Quality?.Agreement), v.Sha256[..Math.Min(12, v.Sha256.Length)],
                problems.GetValueOrDefault(v.Id));
        }
        table.WriteTo(output);
        if (manifest.InputShapes is { Count: > 0 } shapes)
        {
            output.WriteLine($"MACs at the recorded calibration shape: {string.Join(", ", shapes.Select(p => $"{p.Key} {string.Join("x", p.Value)}"))}");
        }
    }

    /// <summary>The variant table of the bundle in <paramref name="directory"/> as it opens now.</summary>
    public static void WriteVariants(TextWriter output, BundleManifest manifest, string directory) =>
        WriteVariants(output, manifest, BundleInspection.Of(directory).Problems);
}
