using EdgeRuntime.Bundles;
using EdgeRuntime.Compression.Packing;
using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Compression.Sparse;
using EdgeRuntime.Inference;
using EdgeRuntime.Onnx;
using EdgeRuntime.Testing;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace EdgeRuntime.Compression.Tests;

/// <summary>Lowering pruned layers to the native sparse ops, with the real library in real ONNX Runtime sessions.</summary>
public sealed class SparseLoweringTests
{
    [Theory]
    [InlineData(false, SparseFormat.Csr)]
    [InlineData(false, SparseFormat.Blocks)]
    [InlineData(true, SparseFormat.Csr)]
    [InlineData(true, SparseFormat.Blocks)]
    public void Lowered_matrix_layers_give_the_outputs_of_the_dense_pruned_model(bool gemm, SparseFormat format)
    {
        string library = SparseOpsLibrary.Require();
        // 37 outputs: the last 1x8 block group is partial.
        var pruned = Prune(TestModels.Mlp([64, 96, 37], seed: 5, useGemm: gemm), format);
        var lowered = SparseLowering.Lower(pruned, new SparseLoweringOptions { LibraryPath = library, MinSpeedup = 0, Formats = [format] });

        Assert.All(lowered.Layers, l => Assert.Equal(format, l.Format));
        Assert.Equal(2, lowered.Lowered);
        string expectedOp = format == SparseFormat.Blocks ? "SparseBlockMatMul" : "SparseMatMul";
        Assert.Equal(2, lowered.Model.Graph.Nodes.Count(n => n.OpType == expectedOp && n.Domain == SparseLowering.Domain));
        Assert.DoesNotContain(lowered.Model.Graph.Nodes, n => n.OpType is "MatMul" or "Gemm" or "Add");
        foreach (int batch in new[] { 1, 3, 8 })
        {
            var x = Ort.RandomValues(batch * 64, seed: batch);
            var expected = Run(pruned, null, x, [batch, 64]);
            var actual = Run(lowered.Model, library, x, [batch, 64]);
            Assert.True(Ort.MaxAbsDifference(expected, actual) < 1e-4, $"batch {batch}: max |diff| {Ort.MaxAbsDifference(expected, actual)}");
        }
    }

    [Fact]
    public void Lowered_pointwise_convolutions_give_the_outputs_of_the_dense_pruned_model()
    {
        string library = SparseOpsLibrary.Require();
        var pruned = Prune(PointwiseConvNet(), SparseFormat.Csr);
        var lowered = SparseLowering.Lower(pruned, new SparseLoweringOptions { LibraryPath = library, MinSpeedup = 0 });

        var byName = lowered.Layers.ToDictionary(l => l.Layer);
        Assert.Equal(SparseFormat.Csr, byName["pw0"].Format);
        Assert.Equal(SparseFormat.Csr, byName["pw1"].Format);
        Assert.Equal(SparseFormat.Dense, byName["spatial"].Format);
        Assert.Equal("not a 1x1 convolution", byName["spatial"].Reason);
        Assert.Null(byName["pw0"].BlockMicroseconds); // convolutions take CSR only
        Assert.Equal(2, lowered.Model.Graph.Nodes.Count(n => n.OpType == "SparseConv1x1"));
        foreach (int batch in new[] { 1, 2 })
        {
            var x = Ort.RandomValues(batch * 12 * 5 * 7, seed: 40 + batch);
            var expected = Run(pruned, null, x, [batch, 12, 5, 7]);
            var actual = Run(lowered.Model, library, x, [batch, 12, 5, 7]);
            Assert.True(Ort.MaxAbsDifference(expected, actual) < 1e-4, $"batch {batch}: max |diff| {Ort.MaxAbsDifference(expected, actual)}");
        }
    }

    [Fact]
    public void A_layer_that_is_not_faster_stays_dense_with_its_timings_recorded()
    {
        string library = SparseOpsLibrary.Require();
        var pruned = Prune(TestModels.Mlp([64, 96, 37], seed: 6), SparseFormat.Csr);
        // No sparse kernel is 100x faster than dense on a 64x96 layer: every timed layer must stay dense.
        var result = SparseLowering.Lower(pruned, new SparseLoweringOptions { LibraryPath = library, MinSpeedup = 100, Rounds = 2, RunsPerRound = 5 });

        Assert.Equal(0, result.Lowered);
        Assert.False(result.NeedsLibrary);
        Assert.All(result.Layers, l =>
        {
            Assert.Equal(SparseFormat.Dense, l.Format);
            Assert.True(l.DenseMicroseconds > 0 && l.CsrMicroseconds > 0 && l.BlockMicroseconds > 0);
            Assert.Contains("below the 100.00x margin", l.Reason);
        });
        Assert.Equal(pruned.Graph.Nodes.Select(n => n.OpType), result.Model.Graph.Nodes.Select(n => n.OpType));
        Assert.DoesNotContain(SparseLowering.Domain, result.Model.OpsetImports.Keys);
    }

    [Fact]
    public void A_layer_below_the_sparsity_floor_stays_dense_untimed()
    {
        string library = SparseOpsLibrary.Require();
        var dense = TestModels.Mlp([32, 16], seed: 8);
        var result = SparseLowering.Lower(dense, new SparseLoweringOptions { LibraryPath = library, MinSpeedup = 0 });

        var layer = Assert.Single(result.Layers);
        Assert.Equal(SparseFormat.Dense, layer.Format);
        Assert.Null(layer.DenseMicroseconds);
        Assert.Contains("sparsity below the floor", layer.Reason);
    }

    [Fact]
    public void A_missing_library_is_an_error_naming_it()
    {
        var model = TestModels.Mlp([32, 16], seed: 8);
        var e = Assert.Throws<FileNotFoundException>(() => SparseLowering.Lower(model, new SparseLoweringOptions { LibraryPath = "/nonexistent/libedgert_sparse_ops.so" }));
        Assert.Contains("/nonexistent/libedgert_sparse_ops.so", e.Message);
    }

    [Fact]
    public void A_bundled_sparse_variant_runs_with_its_library_and_is_unavailable_without_it()
    {
        string library = SparseOpsLibrary.Require();
        using var temp = new TempDirectory();
        var reference = TestModels.Mlp([64, 96, 37], seed: 9);
        var lowered = SparseLowering.Lower(Prune(reference, SparseFormat.Blocks), new SparseLoweringOptions { LibraryPath = library, MinSpeedup = 0 });
        reference.Save(temp.File("reference.onnx"));
        lowered.Model.Save(temp.File("sparse.onnx"));
        string bundle = Path.Combine(temp.Path, "bundle");
        BundleBuilder.Create(bundle, "mlp",
        [
            new VariantSource("dense", temp.File("reference.onnx")),
            new VariantSource("sparse", temp.File("sparse.onnx")) { Applied = [lowered.Applied], CustomOpLibraries = [library] },
        ]);

        var manifest = ModelBundle.Open(bundle).Manifest;
        Assert.Equal([SparseOpsLibrary.FileName], manifest.FindVariant("sparse")!.CustomOpLibraries);
        Assert.Empty(manifest.FindVariant("dense")!.CustomOpLibraries);
        Assert.True(File.Exists(Path.Combine(bundle, SparseOpsLibrary.FileName)));
        var input = Tensors.NamedTensor.FromArray("x", Ort.RandomValues(64, seed: 3), 1, 64);
        using (var runtime = ModelRuntime.Open(bundle))
        {
            Assert.Equal(VariantState.Ready, runtime.GetStatus().Single(s => s.Id == "sparse").State);
            Assert.Equal("sparse", runtime.Run([input], "sparse").VariantId);
        }

        File.Delete(Path.Combine(bundle, SparseOpsLibrary.FileName));
        using (var runtime = ModelRuntime.Open(bundle))
        {
            var status = runtime.GetStatus().Single(s => s.Id == "sparse");
            Assert.Equal(VariantState.Unavailable, status.State);
            Assert.Contains($"custom-op library '{SparseOpsLibrary.FileName}'", status.Reason);
            Assert.Equal("dense", runtime.Run([input]).VariantId);
        }
    }

    private static OnnxModel Prune(OnnxModel model, SparseFormat format) => format == SparseFormat.Blocks
        ? BlockMagnitudePruner.Prune(model, new BlockPruneOptions { Ratio = 0.8 }).Model
        : UnstructuredPruner.Prune(model, new UnstructuredPruneOptions { Ratio = 0.8, Scope = SparsityScope.PerLayer }).Model;

    /// <summary>x [batch, 12, 5, 7] → 1x1 Conv (bias) → Relu → 3x3 Conv → 1x1 Conv (no bias) → y.</summary>
    private static OnnxModel PointwiseConvNet()
    {
        var model = OnnxModel.Create();
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, "batch", 12, 5, 7));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Float, "batch", 20, 5, 7));
        graph.AddInitializer(TensorData.Create(Ort.RandomValues(24 * 12, 1), 24, 12, 1, 1).ToProto("pw0.weight"));
        graph.AddInitializer(TensorData.Vector(Ort.RandomValues(24, 2)).ToProto("pw0.bias"));
        graph.AddNode("Conv", ["x", "pw0.weight", "pw0.bias"], ["a"], "pw0");
        graph.AddNode("Relu", ["a"], ["b"], "relu");
        graph.AddInitializer(TensorData.Create(Ort.RandomValues(16 * 24 * 9, 3), 16, 24, 3, 3).ToProto("spatial.weight"));
        graph.AddNode("Conv", ["b", "spatial.weight"], ["c"], "spatial").SetInts("pads", [1, 1, 1, 1]);
        graph.AddInitializer(TensorData.Create(Ort.RandomValues(20 * 16, 4), 20, 16, 1, 1).ToProto("pw1.weight"));
        graph.AddNode("Conv", ["c", "pw1.weight"], ["y"], "pw1");
        return model;
    }

    private static float[] Run(OnnxModel model, string? library, float[] x, int[] shape)
    {
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        if (library is not null)
        {
            options.RegisterCustomOpLibrary(library);
        }
        using var session = new InferenceSession(model.ToBytes(), options);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, shape))]);
        return ((DenseTensor<float>)results.Single().Value).ToArray();
    }
}
