using EdgeRuntime.Bundles;
using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Packing;
using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Compression.Quantization.Fp16;
using EdgeRuntime.Compression.Quantization.Static;
using EdgeRuntime.Data;
using EdgeRuntime.Inference;
using EdgeRuntime.Onnx;
using EdgeRuntime.Samples;

namespace EdgeRuntime.Simulation;

/// <summary>
/// The embedded default: the fixture CNN and the variants the toolchain makes of it, packed into a bundle
/// with quality measured on Fashion-MNIST when the data set is installed.
/// </summary>
public sealed record FixtureBundle(string Directory, BundleManifest Manifest, LabelledDataset? TestSet, string DataDescription)
{
    /// <param name="quick">Only fp32 and int8 (seconds); otherwise also fp16 and structured-pruned variants (about a minute).</param>
    public static FixtureBundle Build(string workDirectory, TextWriter? log, bool quick = false)
    {
        if (System.IO.Directory.Exists(workDirectory))
        {
            System.IO.Directory.Delete(workDirectory, recursive: true);
        }
        string models = Path.Combine(workDirectory, "models");
        string bundleDirectory = Path.Combine(workDirectory, "bundle");
        string reference = SampleModels.WriteFashionCnn(models);

        LabelledDataset? test = null, train = null;
        string description;
        try
        {
            test = FashionMnist.Load(FashionMnistSplit.Test);
            train = FashionMnist.Load(FashionMnistSplit.Train);
            description = "Fashion-MNIST test set";
        }
        catch (FileNotFoundException e)
        {
            description = "random images (Fashion-MNIST not installed: " + e.Message.Split('\n')[0] + ")";
        }
        var sources = new List<VariantSource> { new("fp32", reference) };
        log?.WriteLine("making an int8-static variant (calibrated on 500 training images) ...");
        sources.Add(MakeInt8(reference, models, train, "int8-static"));
        if (!quick)
        {
            log?.WriteLine("making an fp16 variant ...");
            var fp16 = Fp16Converter.Convert(OnnxModel.Load(reference));
            string fp16Path = Path.Combine(models, "fp16.onnx");
            fp16.Model.Save(fp16Path);
            sources.Add(new VariantSource("fp16", fp16Path) { Precision = Precisions.Fp16, Applied = fp16.Applied, FloatNodes = fp16.FloatNodes });
            log?.WriteLine("pruning half of the channels (structured, with reconstruction on 4096 training images) ...");
            var pruned = MakePruned(reference, models, train);
            sources.Add(pruned);
            log?.WriteLine("quantizing the pruned variant to int8 ...");
            sources.Add(MakeInt8(pruned.ModelPath, models, train, "pruned50-int8") with { ChannelsKept = pruned.ChannelsKept, Applied = [.. pruned.Applied, "then int8-static"] });
        }
        log?.WriteLine($"packing {sources.Count} variants of the embedded fashion-cnn model into {bundleDirectory} ...");
        var manifest = BundleBuilder.Create(bundleDirectory, "fashion-cnn", sources,
            test is null ? null : new QualityData(test, true, "fashion-mnist"),
            "Fixture CNN for Fashion-MNIST; variants made by the compression toolchain");
        return new FixtureBundle(bundleDirectory, manifest, test, description);
    }

    private static VariantSource MakeInt8(string source, string directory, LabelledDataset? train, string id)
    {
        var (inputs, _) = OrtSignatures.ReadFromFile(source);
        var result = StaticInt8Quantizer.Quantize(OnnxModel.Load(source), CalibrationData.FromDataset(train ?? RandomImages(), inputs, limit: 500));
        string path = Path.Combine(directory, $"{id}.onnx");
        result.Model.Save(path);
        return new VariantSource(id, path) { Precision = Precisions.Int8Static, Applied = result.Applied, FloatNodes = result.FloatNodes };
    }

    private static VariantSource MakePruned(string reference, string directory, LabelledDataset? train)
    {
        var (inputs, _) = OrtSignatures.ReadFromFile(reference);
        var result = StructuredPruner.Prune(OnnxModel.Load(reference), new StructuredPruneOptions { Ratio = 0.5 },
            CalibrationData.FromDataset(train ?? RandomImages(), inputs, limit: 4096));
        string path = Path.Combine(directory, "pruned50.onnx");
        result.Model.Save(path);
        return new VariantSource("pruned50", path) { Precision = Precisions.Fp32, ChannelsKept = Math.Round(result.ChannelsKept, 4), Applied = result.Applied };
    }

    /// <summary>Without the data set, calibrate on random images: valid variants, of unmeasured quality.</summary>
    private static LabelledDataset RandomImages()
    {
        var random = new Random(11);
        var pixels = new float[512 * 28 * 28];
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = random.NextSingle();
        }
        return new LabelledDataset(pixels, [1, 28, 28], new long[512], "random");
    }
}
