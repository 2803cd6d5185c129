using System.CommandLine;
using EdgeRuntime.Bundles;
using EdgeRuntime.Compression.Packing;
using EdgeRuntime.Deployment;
using EdgeRuntime.Deployment.Signing;

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
        command.Subcommands.Add(ReferenceCommand(context));
        command.Subcommands.Add(SignCommand(context));
        command.Subcommands.Add(PackCommand(context));
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
            BundleReports.WriteVariants(context.Out, manifest, dir);
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
            BundleReports.WriteVariants(context.Out, manifest, dir);
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
            context.Write(result.GetValue(json), BundleInspection.Of(result.GetValue(directory)!), (writer, r) => r.WriteText(writer));
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
            var verification = BundleVerification.Of(result.GetValue(directory)!);
            context.Write(result.GetValue(json), verification, (writer, r) => r.WriteText(writer));
            return verification.Ok ? 0 : 1;
        });
        return command;
    }

    private static Command ReferenceCommand(CliContext context)
    {
        var directory = new Argument<string>("directory") { Description = "Bundle directory" };
        var samples = new Option<int>("--samples") { Description = "Reference inputs to record", DefaultValueFactory = _ => 4 };
        var tolerance = new Option<double>("--tolerance") { Description = "Largest absolute difference allowed per output element", DefaultValueFactory = _ => 1e-3 };
        var perOutput = new Option<string[]>("--output-tolerance") { Description = "NAME=T for one output (repeatable)", AllowMultipleArgumentsPerToken = true };
        var data = new DataOptions();
        var json = CliOutput.Json();
        var command = new Command("reference", "Record reference inputs with the reference variant's outputs and tolerances; a device checks a new version against them in probation. Sign afterwards");
        command.Arguments.Add(directory);
        command.AddOptions(samples, tolerance, perOutput, json);
        data.AddTo(command);
        command.SetAction(result =>
        {
            var tolerances = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (string spec in result.GetValue(perOutput) ?? [])
            {
                int equals = spec.IndexOf('=');
                if (equals <= 0 || !double.TryParse(spec[(equals + 1)..], System.Globalization.CultureInfo.InvariantCulture, out double t) || t < 0)
                {
                    throw new CliError($"--output-tolerance '{spec}': expected NAME=T with T a number from 0 up");
                }
                tolerances[spec[..equals]] = t;
            }
            var dataset = data.IsGiven(result) ? data.Load(result).Data : null;
            var recording = ReferenceRecorder.Record(result.GetValue(directory)!, result.GetValue(samples), result.GetValue(tolerance), tolerances, dataset);
            context.Write(result.GetValue(json), recording, (writer, r) => writer.WriteLine(
                $"recorded {r.Samples} reference input(s) ({r.InputSource}) with variant '{r.Variant}' outputs into {r.File}; tolerances " +
                string.Join(", ", r.Tolerances.Select(t => $"{t.Key}={t.Value:G4}"))));
            return 0;
        });
        return command;
    }

    private static Command SignCommand(CliContext context)
    {
        var directory = new Argument<string>("directory") { Description = "Bundle directory" };
        var key = new Option<FileInfo>("--key") { Description = "Private key (NAME.key from `edgert keys new`)", Required = true };
        var version = new Option<long?>("--version") { Description = "Set the bundle's version first (counts up with every release; devices refuse lower ones)" };
        var json = CliOutput.Json();
        var command = new Command("sign", "Write manifest.sig: an ECDSA P-256 signature over manifest.json, which hashes every file and holds the version");
        command.Arguments.Add(directory);
        command.AddOptions(key, version, json);
        command.SetAction(result =>
        {
            var signed = BundleSigner.Sign(result.GetValue(directory)!, result.GetValue(key)!.FullName, result.GetValue(version));
            context.Write(result.GetValue(json), signed, (writer, s) => writer.WriteLine($"signed '{s.BundleName}' version {s.Version} with key {s.KeyId}: {s.SignaturePath}"));
            return 0;
        });
        return command;
    }

    private static Command PackCommand(CliContext context)
    {
        var directory = new Argument<string>("directory") { Description = "Signed bundle directory" };
        var output = new Option<string>("--out") { Description = "Archive to write (.tar)", Required = true };
        var json = CliOutput.Json();
        var command = new Command("pack", "Pack a bundle into the one-file archive a device installs");
        command.Arguments.Add(directory);
        command.AddOptions(output, json);
        command.SetAction(result =>
        {
            var packed = BundleArchive.Pack(result.GetValue(directory)!, result.GetValue(output)!);
            context.Write(result.GetValue(json), packed, (writer, p) => writer.WriteLine($"packed {p.Files} file(s), {p.Bytes} bytes: {p.ArchivePath}"));
            return 0;
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
}
