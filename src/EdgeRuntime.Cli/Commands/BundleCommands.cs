using System.CommandLine;
using EdgeRuntime.Bundles;
using EdgeRuntime.Compression.Packing;
using EdgeRuntime.Reporting;
using EdgeRuntime.Inference;

namespace EdgeRuntime.Cli.Commands;

internal static class BundleCommands
{
    public static Command Create(CliContext context)
    {
        var command = new Command("bundle", "Make, extend, inspect and verify model bundles");
        command.Subcommands.Add(CreateCommand(context));
        command.Subcommands.Add(AddCommand(context));
        command.Subcommands.Add(InspectCommand(context));
        command.Subcommands.Add(VerifyCommand(context));
        return command;
    }

    private static Command CreateCommand(CliContext context)
    {
        var directory = new Argument<string>("directory") { Description = "New bundle directory (must not exist or be empty)" };
        var model = new Option<FileInfo>("--model") { Description = "The reference model (normally fp32)", Required = true };
        var referenceId = new Option<string>("--reference-id") { Description = "Variant id of the reference model", DefaultValueFactory = _ => "fp32" };
        var variants = new Option<string[]>("--variant") { Description = "More variants as ID=PATH (repeatable)", AllowMultipleArgumentsPerToken = true };
        var name = new Option<string?>("--name") { Description = "Bundle name (default: the reference file's name)" };
        var description = new Option<string?>("--description") { Description = "Free text kept in the manifest" };
        var data = new DataOptions();
        var command = new Command("create", "Pack a reference model and its variants into a new bundle, measuring quality when data is given");
        command.Arguments.Add(directory);
        command.AddOptions(model, referenceId, variants, name, description);
        data.AddTo(command);
        command.SetAction(result =>
        {
            var reference = result.GetValue(model)!;
            var sources = new List<VariantSource> { new(result.GetValue(referenceId)!, reference.FullName) };
            foreach (string spec in result.GetValue(variants) ?? [])
            {
                int equals = spec.IndexOf('=');
                if (equals <= 0)
                {
                    throw new CliError($"--variant '{spec}': expected ID=PATH");
                }
                sources.Add(new VariantSource(spec[..equals], Path.GetFullPath(spec[(equals + 1)..])));
            }
            var quality = LoadQuality(result, data);
            string dir = result.GetValue(directory)!;
            var manifest = BundleBuilder.Create(dir, result.GetValue(name) ?? Path.GetFileNameWithoutExtension(reference.Name), sources, quality, result.GetValue(description));
            context.Out.WriteLine($"created bundle '{manifest.Name}' in {dir} with {manifest.Variants.Count} variant(s)");
            PrintVariants(context.Out, manifest, ModelBundle.Open(dir));
            return 0;
        });
        return command;
    }

    private static Command AddCommand(CliContext context)
    {
        var directory = new Argument<string>("directory") { Description = "Existing bundle directory" };
        var model = new Argument<FileInfo>("model") { Description = "The variant's .onnx file" };
        var id = new Option<string>("--id") { Description = "Variant id", Required = true };
        var precision = new Option<string?>("--precision") { Description = $"Override the precision read from the graph ({string.Join(", ", Precisions.All)})" };
        var replace = new Option<bool>("--replace") { Description = "Replace a variant of the same id" };
        var data = new DataOptions();
        var command = new Command("add", "Add a variant made elsewhere to a bundle; it is checked and measured like the others");
        command.Arguments.Add(directory);
        command.Arguments.Add(model);
        command.Options.Add(id);
        command.Options.Add(precision);
        command.Options.Add(replace);
        data.AddTo(command);
        command.SetAction(result =>
        {
            string? p = result.GetValue(precision);
            if (p is not null && !Precisions.All.Contains(p))
            {
                throw new CliError($"--precision '{p}' is not one of {string.Join(", ", Precisions.All)}");
            }
            string dir = result.GetValue(directory)!;
            var source = new VariantSource(result.GetValue(id)!, result.GetValue(model)!.FullName) { Precision = p };
            var manifest = BundleBuilder.Add(dir, source, LoadQuality(result, data), result.GetValue(replace));
            context.Out.WriteLine($"added variant '{source.Id}' to bundle '{manifest.Name}'");
            PrintVariants(context.Out, manifest, ModelBundle.Open(dir));
            return 0;
        });
        return command;
    }

    private static Command InspectCommand(CliContext context)
    {
        var directory = new Argument<string>("directory") { Description = "Bundle directory" };
        var json = CliOutput.Json("Print the manifest and each variant's problem as JSON");
        var command = new Command("inspect", "Show a bundle's manifest: interface, and per variant precision, size, sparsity, MACs, quality");
        command.Arguments.Add(directory);
        command.Options.Add(json);
        command.SetAction(result =>
        {
            var bundle = ModelBundle.Open(result.GetValue(directory)!);
            var manifest = bundle.Manifest;
            if (result.GetValue(json))
            {
                context.Out.WriteLine(ReportJson.Serialize(new
                {
                    manifest,
                    problems = bundle.Variants.Where(v => v.Problem is not null).ToDictionary(v => v.Id, v => v.Problem),
                }));
                return 0;
            }
            context.Out.WriteLine($"bundle '{manifest.Name}' (schema {manifest.SchemaVersion}, created {manifest.CreatedUtc:u})");
            if (manifest.Description is not null)
            {
                context.Out.WriteLine($"  {manifest.Description}");
            }
            context.Out.WriteLine($"reference: {manifest.ReferenceVariant}");
            context.Out.WriteLine($"inputs:    {string.Join("; ", manifest.Inputs)}");
            context.Out.WriteLine($"outputs:   {string.Join("; ", manifest.Outputs)}");
            PrintVariants(context.Out, manifest, bundle);
            return 0;
        });
        return command;
    }

    private static Command VerifyCommand(CliContext context)
    {
        var directory = new Argument<string>("directory") { Description = "Bundle directory" };
        var json = CliOutput.Json("Print the result as JSON");
        var command = new Command("verify", "Check every variant: file present, hash, loads in ONNX Runtime, inputs and outputs agree. Exit 1 if any fails");
        command.Arguments.Add(directory);
        command.Options.Add(json);
        command.SetAction(result =>
        {
            var bundle = ModelBundle.Open(result.GetValue(directory)!);
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
            bool ok = checks.All(c => c.Problem is null);
            if (result.GetValue(json))
            {
                context.Out.WriteLine(ReportJson.Serialize(new
                {
                    bundle = bundle.Name,
                    ok,
                    variants = checks.Select(c => new { id = c.Id, ok = c.Problem is null, problem = c.Problem }),
                }));
            }
            else
            {
                foreach (var (variantId, problem) in checks)
                {
                    context.Out.WriteLine(problem is null ? $"ok    {variantId}" : $"FAIL  {variantId}: {problem}");
                }
                context.Out.WriteLine(ok ? $"bundle '{bundle.Name}' is valid" : $"bundle '{bundle.Name}' has {checks.Count(c => c.Problem is not null)} unusable variant(s)");
            }
            return ok ? 0 : 1;
        });
        return command;
    }

    private static QualityData? LoadQuality(ParseResult result, DataOptions data)
    {
        if (!data.IsGiven(result))
        {
            return null;
        }
        var (dataset, labelled, name) = data.Load(result);
        return new QualityData(dataset, labelled, name) { Limit = result.GetValue(data.Limit) };
    }

    private static void PrintVariants(TextWriter output, BundleManifest manifest, ModelBundle bundle)
    {
        var table = new TextTable("variant", "precision", "size", "sparsity", "channels", "MACs", "params", "quality", "agreement", "sha256", "problem");
        foreach (var v in manifest.Variants)
        {
            string? quality = v.Quality is null ? null : $"{v.Quality.Metric} {Formatting.Percent(v.Quality.Value)}";
            table.Add(v.Id, v.Precision, Formatting.Bytes(v.SizeBytes), Formatting.Percent(v.Sparsity), Formatting.Percent(v.ChannelsKept),
                Formatting.Count(v.Macs), Formatting.Count(v.Parameters), quality, Formatting.Percent(v.Quality?.Agreement), v.Sha256[..Math.Min(12, v.Sha256.Length)],
                bundle.Variants.FirstOrDefault(b => b.Id == v.Id)?.Problem);
        }
        table.WriteTo(output);
        if (manifest.InputShapes is { Count: > 0 } shapes)
        {
            output.WriteLine($"MACs at the recorded calibration shape: {string.Join(", ", shapes.Select(p => $"{p.Key} {string.Join("x", p.Value)}"))}");
        }
    }
}
