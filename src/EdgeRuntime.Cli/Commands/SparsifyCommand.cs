using System.CommandLine;
using EdgeRuntime.Evaluation.Benchmarking;
using System.ComponentModel.DataAnnotations;
using EdgeRuntime.Compression.Packing;
using EdgeRuntime.Compression.Sparse;
using EdgeRuntime.Reporting;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert sparsify`: moves pruned layers onto the native sparse kernels where they time faster on this device.</summary>
internal static class SparsifyCommand
{
    public sealed record SparsifyReport(string Input, string Output, string Library, int Batch, int Threads, int Lowered, IReadOnlyList<LayerLowering> Layers);

    public static Command Create(CliContext context)
    {
        var input = new Argument<FileInfo>("model") { Description = "A pruned .onnx model (zeros in its MatMul, Gemm or 1x1 Conv weights)" };
        var library = new Option<FileInfo>("--library") { Description = "The built sparse custom-op library (libedgert_sparse_ops.so, from `make native`)", Required = true };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Where to write the model with sparse nodes", Required = true };
        var batch = new Option<int>("--batch") { Description = "Batch size the variant serves: the graph inputs' free leading dimension when timing (other free dimensions are taken as 1)", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { Description = "Threads of each node, when timed and when deployed", DefaultValueFactory = _ => 1 };
        var minSparsity = new Option<double>("--min-sparsity") { Description = "Layers with fewer zeros stay dense untimed", DefaultValueFactory = _ => 0.5 };
        var margin = new Option<double>("--margin") { Description = "Replace a layer only when dense time / sparse time reaches this", DefaultValueFactory = _ => 1.15 };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved timing rounds per layer", DefaultValueFactory = _ => 7 };
        var shapes = new Option<string[]>("--shape") { Description = "Input shape for symbolic dimensions besides the batch, e.g. --shape x=1x3x48x192 (repeatable)", AllowMultipleArgumentsPerToken = true };
        var runs = new Option<int>("--runs") { Description = "Timed runs per candidate per round", DefaultValueFactory = _ => 20 };
        var formats = new Option<string[]>("--formats") { Description = "Sparse forms to try: csr, blocks (1x8 blocks; MatMul and Gemm only)", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => ["csr", "blocks"] };
        var exclude = new Option<string[]>("--exclude") { Description = "Layer names or op types to leave dense (repeatable)", AllowMultipleArgumentsPerToken = true };
        var addTo = new Option<string?>("--add-to") { Description = "Also add the result to this bundle, with the library copied beside it" };
        var id = new Option<string?>("--id") { Description = "Variant id for --add-to (default: the output file's name)" };
        var json = CliOutput.Json();
        var command = new Command("sparsify", "Replace pruned MatMul, Gemm and 1x1 Conv layers by native sparse kernels where they are measured faster on this device");
        command.Arguments.Add(input);
        command.AddOptions(library, output, batch, threads, minSparsity, margin, rounds, runs, shapes, formats, exclude, addTo, id, json);
        command.SetAction(result =>
        {
            var source = result.GetValue(input)!;
            var destination = result.GetValue(output)!;
            var libraryFile = result.GetValue(library)!;
            if (!source.Exists)
            {
                throw new CliError($"model file '{source.FullName}' does not exist");
            }
            if (!libraryFile.Exists)
            {
                throw new CliError($"--library '{libraryFile.FullName}' does not exist (build it with `make native`)");
            }
            var options = new SparseLoweringOptions
            {
                LibraryPath = libraryFile.FullName,
                Batch = result.GetValue(batch),
                Threads = result.GetValue(threads),
                MinSparsity = result.GetValue(minSparsity),
                MinSpeedup = result.GetValue(margin),
                Rounds = result.GetValue(rounds),
                RunsPerRound = result.GetValue(runs),
                Exclude = result.GetValue(exclude) ?? [],
                InputShapes = BenchText.ParseShapes(result.GetValue(shapes) ?? []),
                Formats = [.. (result.GetValue(formats) ?? []).SelectMany(f => f.Split(',', StringSplitOptions.RemoveEmptyEntries)).Select(ParseFormat)],
            };
            Action<string>? log = result.GetValue(json) ? null : line => context.Error.WriteLine(line);
            SparseLoweringResult lowered;
            OnnxModel pruned;
            try
            {
                pruned = OnnxModel.Load(source.FullName);
                lowered = SparseLowering.Lower(pruned, options, log);
            }
            catch (Exception e) when (e is ValidationException or ArgumentException)
            {
                throw new CliError(e.Message);
            }
            lowered.Model.Save(destination.FullName);
            if (result.GetValue(addTo) is string bundle)
            {
                BundleBuilder.Add(bundle, new VariantSource(result.GetValue(id) ?? Path.GetFileNameWithoutExtension(destination.Name), destination.FullName)
                {
                    Applied = [lowered.Applied],
                    Sparsity = ModelFacts.WeightSparsity(pruned.Graph),
                    CustomOpLibraries = lowered.NeedsLibrary ? [libraryFile.FullName] : [],
                });
            }
            var report = new SparsifyReport(source.FullName, destination.FullName, libraryFile.FullName, options.Batch, options.Threads, lowered.Lowered, lowered.Layers);
            if (result.GetValue(json))
            {
                context.Out.WriteLine(ReportJson.Serialize(report));
                return 0;
            }
            context.Out.WriteLine($"wrote {destination.FullName}: {lowered.Lowered} of {lowered.Layers.Count} layer(s) on sparse kernels (batch {options.Batch}, {options.Threads} thread(s))");
            var table = new TextTable("layer", "op", "input", "zeros", "empty 1x8", "dense us", "CSR us", "1x8 us", "chosen", "why");
            foreach (var layer in lowered.Layers)
            {
                table.Add(layer.Layer, layer.OpType, layer.Shape, $"{layer.Sparsity:P1}", layer.BlockSparsity is double b ? $"{b:P1}" : "-",
                    Micro(layer.DenseMicroseconds), Micro(layer.CsrMicroseconds), Micro(layer.BlockMicroseconds),
                    layer.Format.ToString().ToLowerInvariant(), layer.Reason);
            }
            table.WriteTo(context.Out);
            if (lowered.NeedsLibrary)
            {
                context.Out.WriteLine($"  the model needs {Path.GetFileName(libraryFile.FullName)} (com.edgeruntime.sparse) to load");
            }
            return 0;
        });
        return command;
    }

    private static SparseFormat ParseFormat(string name) => name.Trim().ToLowerInvariant() switch
    {
        "csr" => SparseFormat.Csr,
        "blocks" or "block" => SparseFormat.Blocks,
        _ => throw new CliError($"--formats '{name}': expected csr or blocks"),
    };

    private static string Micro(double? us) => us is double v ? v.ToString("F1", System.Globalization.CultureInfo.InvariantCulture) : "-";
}
