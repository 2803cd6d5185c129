using EdgeRuntime.Bundles;
using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Packing;
using EdgeRuntime.Compression.Quantization.Static;
using EdgeRuntime.Data;
using EdgeRuntime.Inference;
using EdgeRuntime.Onnx;
using EdgeRuntime.Samples;

namespace EdgeRuntime.Cli.Commands;

/// <summary>
/// The embedded default: the fixture CNN and the variants the toolchain makes of it, packed into a bundle
/// with quality measured on Fashion-MNIST when the data set is installed.
/// </summary>
internal sealed record FixtureBundle(string Directory, BundleManifest Manifest, LabelledDataset? TestSet, string DataDescription)
{
    public static FixtureBundle Build(string workDirectory, TextWriter? log)
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
        sources.Add(MakeInt8(reference, models, train));
        log?.WriteLine($"packing {sources.Count} variants of the embedded fashion-cnn model into {bundleDirectory} ...");
        var manifest = BundleBuilder.Create(bundleDirectory, "fashion-cnn", sources,
            test is null ? null : new QualityData(test, true, "fashion-mnist"),
            "Fixture CNN for Fashion-MNIST; variants made by the compression toolchain");
        return new FixtureBundle(bundleDirectory, manifest, test, description);
    }

    private static VariantSource MakeInt8(string reference, string directory, LabelledDataset? train)
    {
        var (inputs, _) = OrtSignatures.ReadFromFile(reference);
        if (train is null)
        {
            // Without the data set, calibrate on random images: a valid variant, of unmeasured quality.
            var random = new Random(11);
            var pixels = new float[256 * 28 * 28];
            for (int i = 0; i < pixels.Length; i++)
            {
                pixels[i] = random.NextSingle();
            }
            train = new LabelledDataset(pixels, [1, 28, 28], new long[256], "random");
        }
        var result = StaticInt8Quantizer.Quantize(OnnxModel.Load(reference), CalibrationData.FromDataset(train, inputs, limit: 500));
        string path = Path.Combine(directory, "int8-static.onnx");
        result.Model.Save(path);
        return new VariantSource("int8-static", path) { Precision = Precisions.Int8Static, Applied = result.Applied, FloatNodes = result.FloatNodes };
    }
}
