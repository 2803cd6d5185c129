using EdgeRuntime.Bundles;
using EdgeRuntime.Compression.Packing;
using EdgeRuntime.Deployment;
using EdgeRuntime.Deployment.Signing;
using EdgeRuntime.Onnx;
using EdgeRuntime.Samples;

namespace EdgeRuntime.Bench.Deployment;

/// <summary>What is wrong with a bundle made to be refused or rolled back.</summary>
public enum BundleFlaw
{
    None,
    /// <summary>No manifest.sig.</summary>
    Unsigned,
    /// <summary>The manifest changed after signing.</summary>
    BadSignature,
    /// <summary>One byte of a model file flipped inside the archive.</summary>
    CorruptBytes,
    /// <summary>Signed and intact, but its model does not give the outputs its reference checks recorded.</summary>
    OutputsOff,
    /// <summary>Signed and intact, same outputs, but <see cref="BundleFactory.SlowdownFactor"/> times the work per inference.</summary>
    Slower,
}

/// <summary>
/// Makes signed bundle archives of the fashion-cnn sample the way a publisher does (create, record reference
/// checks, sign, pack), good or with one <see cref="BundleFlaw"/>, plus the trusted-keys directory a device
/// needs. Used by the deployment tests, the crash harness and the simulated fleet.
/// </summary>
public sealed class BundleFactory
{
    private readonly string _workspace;
    private readonly string _model;
    private readonly Lock _gate = new();
    private byte[]? _offModel, _slowModel;

    /// <param name="workspace">A directory of its own: models, keys, bundles and archives go under it.</param>
    public BundleFactory(string workspace, string keyName = "release")
    {
        _workspace = Path.GetFullPath(workspace);
        _model = SampleModels.WriteFashionCnn(Path.Combine(_workspace, "models"));
        TrustedDirectory = Path.Combine(_workspace, "trusted");
        Directory.CreateDirectory(TrustedDirectory);
        Key = NewKey(keyName);
        Trust(Key);
    }

    /// <summary>The publisher key bundles are signed with unless another is given; trusted from the start.</summary>
    public KeyFiles Key { get; }

    /// <summary>A device's trusted keys: <see cref="Key"/>'s .pub, and whatever <see cref="Trust"/> and <see cref="Revoke"/> add.</summary>
    public string TrustedDirectory { get; }

    /// <summary>Work per inference of a <see cref="BundleFlaw.Slower"/> bundle, relative to the good one (by MACs).</summary>
    public double SlowdownFactor { get; init; } = 3.0;

    public KeyFiles NewKey(string name) => SigningKey.Create(Path.Combine(_workspace, "publisher"), name);

    public void Trust(KeyFiles key) => File.Copy(key.PublicKeyPath, Path.Combine(TrustedDirectory, Path.GetFileName(key.PublicKeyPath)), overwrite: true);

    public void Revoke(KeyFiles key) => File.AppendAllText(Path.Combine(TrustedDirectory, TrustedKeys.RevokedFileName), key.KeyId + "\n");

    /// <summary>A bundle directory named <paramref name="name"/> at <paramref name="version"/>.</summary>
    public string MakeBundle(string name, long version, BundleFlaw flaw = BundleFlaw.None, KeyFiles? key = null)
    {
        string directory = Path.Combine(_workspace, "bundles", $"{name}-{version}-{flaw}-{Guid.NewGuid():N}");
        BundleBuilder.Create(directory, name, [new VariantSource("fp32", _model)]);
        ReferenceRecorder.Record(directory, samples: 2);
        if (flaw is BundleFlaw.OutputsOff or BundleFlaw.Slower)
        {
            ReplaceReferenceModel(directory, flaw == BundleFlaw.OutputsOff ? OffModel() : SlowModel());
        }
        string manifestPath = Path.Combine(directory, BundleManifest.FileName);
        if (flaw == BundleFlaw.Unsigned)
        {
            ManifestJson.WriteAtomically(ModelBundle.Open(directory).Manifest with { Version = version }, manifestPath);
            return directory;
        }
        BundleSigner.Sign(directory, (key ?? Key).PrivateKeyPath, version);
        if (flaw == BundleFlaw.BadSignature)
        {
            ManifestJson.WriteAtomically(ModelBundle.Open(directory).Manifest with { Description = "changed after signing" }, manifestPath);
        }
        return directory;
    }

    /// <summary>A bundle packed into an archive, ready for <see cref="IDeviceDeployment.Install"/>.</summary>
    public string MakeArchive(string name, long version, BundleFlaw flaw = BundleFlaw.None, KeyFiles? key = null)
    {
        string archive = Pack(MakeBundle(name, version, flaw, key));
        if (flaw == BundleFlaw.CorruptBytes)
        {
            // The middle of the archive is inside the model, the largest file.
            using var file = new FileStream(archive, FileMode.Open, FileAccess.ReadWrite);
            file.Position = file.Length / 2;
            int value = file.ReadByte();
            file.Position--;
            file.WriteByte((byte)(value ^ 0x5A));
        }
        return archive;
    }

    public string Pack(string bundleDirectory) =>
        BundleArchive.Pack(bundleDirectory, Path.Combine(_workspace, "archives", $"{Path.GetFileName(bundleDirectory)}.tar")).ArchivePath;

    /// <summary>The sample with its last bias moved: loads and runs, but not with the outputs recorded for the sample.</summary>
    private byte[] OffModel()
    {
        lock (_gate)
        {
            if (_offModel is null)
            {
                var model = OnnxModel.Load(_model);
                var graph = model.Graph;
                var producer = graph.GetProducer(graph.Outputs[0].Name)!;
                while (producer.Input.All(i => !IsVector(graph, i)))
                {
                    producer = graph.GetProducer(producer.Input[0])!;
                }
                string bias = producer.Input.Last(i => IsVector(graph, i));
                float[] values = graph.GetInitializerData(bias).ToFloatArray();
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] += i % 2 == 0 ? 3f : -3f;
                }
                graph.SetInitializer(bias, TensorData.Vector(values));
                _offModel = model.ToBytes();
            }
            return _offModel;
        }
    }

    /// <summary>
    /// The sample plus a branch that costs (factor - 1) times its MACs and adds zero times its result to the
    /// output: the same outputs, more work. The branch reads the input, so ONNX Runtime cannot fold it away.
    /// </summary>
    private byte[] SlowModel()
    {
        lock (_gate)
        {
            if (_slowModel is null)
            {
                var model = OnnxModel.Load(_model);
                var graph = model.Graph;
                long macs = MacCounter.Count(model).TotalMacs;
                var input = graph.RuntimeInputs.First();
                long features = input.Type.TensorType.Shape.Dim.Skip(1).Aggregate(1L, (product, d) => product * d.DimValue);
                int width = (int)Math.Max(1, (SlowdownFactor - 1) * macs / features);
                var random = new Random(7);
                graph.SetInitializer("slow_shape", TensorData.Vector(new long[] { -1, features }));
                graph.SetInitializer("slow_weights", TensorData.Create(Enumerable.Range(0, (int)(features * width)).Select(_ => random.NextSingle()).ToArray(), features, width));
                graph.SetInitializer("slow_zero", TensorData.Scalar(0f));
                string output = graph.Outputs[0].Name;
                var last = graph.GetProducer(output)!;
                graph.SetNodeOutput(last, 0, "slow_unchanged");
                graph.AddNode("Reshape", [input.Name, "slow_shape"], ["slow_flat"]);
                graph.AddNode("MatMul", ["slow_flat", "slow_weights"], ["slow_product"]);
                graph.AddNode("ReduceSum", ["slow_product"], ["slow_sum"]).SetInt("keepdims", 1);
                graph.AddNode("Mul", ["slow_sum", "slow_zero"], ["slow_nothing"]);
                graph.AddNode("Add", ["slow_unchanged", "slow_nothing"], [output]);
                _slowModel = model.ToBytes();
            }
            return _slowModel;
        }
    }

    private static bool IsVector(OnnxGraph graph, string name) => graph.IsInitializer(name) && graph.GetInitializerData(name).Rank == 1;

    private static void ReplaceReferenceModel(string directory, byte[] bytes)
    {
        var manifest = ModelBundle.Open(directory).Manifest;
        var reference = manifest.FindVariant(manifest.ReferenceVariant)!;
        string path = Path.Combine(directory, reference.File);
        File.WriteAllBytes(path, bytes);
        manifest = manifest with
        {
            Variants = [.. manifest.Variants.Select(v => v.Id == reference.Id ? v with { Sha256 = ModelBundle.ComputeSha256(path), SizeBytes = bytes.Length } : v)],
        };
        ManifestJson.WriteAtomically(manifest, Path.Combine(directory, BundleManifest.FileName));
    }
}
