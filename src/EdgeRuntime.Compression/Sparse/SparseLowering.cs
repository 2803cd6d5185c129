using System.Diagnostics;
using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Onnx;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace EdgeRuntime.Compression.Sparse;

/// <summary>
/// Replaces pruned MatMul, Gemm and 1 x 1 Conv layers by the native sparse ops (com.edgeruntime.sparse) where,
/// and only where, they run faster on this device: each candidate layer is cut out as a single-node model with
/// its real weights and input shape, then ONNX Runtime's dense node, the CSR op and (for MatMul and Gemm) the
/// 1 x 8 block op are timed in interleaved rounds with the built library. Sparse kernels lose to dense ones
/// at moderate sparsity, so a layer changes only when its measured gain clears the margin.
/// </summary>
public static class SparseLowering
{
    public const string Domain = "com.edgeruntime.sparse";

    public static SparseLoweringResult Lower(OnnxModel model, SparseLoweringOptions options, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var lowered = model.Clone();
        var graph = lowered.Graph;
        var shapes = InputShapes(lowered, options.Batch, options.InputShapes);
        var layers = WeightLayer.FindAll(graph);
        if (layers.Count == 0)
        {
            throw new ArgumentException("the model has no Conv, Gemm or MatMul layer with a constant float weight");
        }
        var records = new List<LayerLowering>();
        var replacedWeights = new List<string>();
        foreach (var layer in layers)
        {
            var record = Decide(graph, layer, shapes, options);
            records.Add(record);
            log?.Invoke(Describe(record));
            if (record.Format != SparseFormat.Dense)
            {
                Replace(graph, layer, record.Format, options.Threads);
                replacedWeights.Add(layer.WeightName);
            }
        }
        foreach (string weight in replacedWeights.Distinct())
        {
            if (!graph.IsUsed(weight))
            {
                graph.RemoveInitializer(weight);
            }
        }
        if (records.Any(r => r.Format != SparseFormat.Dense))
        {
            lowered.SetOpset(Domain, 1);
        }
        return new SparseLoweringResult(lowered, records);
    }

    public static string Describe(LayerLowering r)
    {
        string times = r.DenseMicroseconds is double dense
            ? $"dense {dense:F1} us, CSR {Micro(r.CsrMicroseconds)}, 1x8 blocks {Micro(r.BlockMicroseconds)}"
            : "not timed";
        return $"{r.Layer} ({r.OpType} {r.Shape}, {r.Sparsity:P1} zeros): {times} -> {r.Format.ToString().ToLowerInvariant()}: {r.Reason}";
    }

    private static string Micro(double? us) => us is double v ? $"{v:F1} us" : "-";

    private static LayerLowering Decide(OnnxGraph graph, WeightLayer layer, IReadOnlyDictionary<string, long[]> shapes, SparseLoweringOptions options)
    {
        var matrix = layer.ReadMatrix(graph);
        double sparsity = matrix.Length == 0 ? 0 : (double)matrix.LongCount(v => v == 0f) / matrix.Length;
        bool matrixOp = layer.OpType is "MatMul" or "Gemm";
        double? blockSparsity = matrixOp ? SparseWeights.BlockSparsity(matrix, layer.Outputs, layer.Columns) : null;
        string shapeText = shapes.TryGetValue(layer.InputName, out var inputShape) ? TensorShapes.Format(inputShape) : "?";
        LayerLowering Dense(string reason) =>
            new(layer.Name, layer.OpType, shapeText, sparsity, blockSparsity, null, null, null, SparseFormat.Dense, reason);

        if (options.Exclude.Contains(layer.Name) || options.Exclude.Contains(layer.OpType))
        {
            return Dense("excluded");
        }
        if (layer.OpType == "Conv" && NotPointwise(layer) is string why)
        {
            return Dense(why);
        }
        if (inputShape is null)
        {
            return Dense("its input shape is unknown, so it cannot be timed");
        }
        if (sparsity < options.MinSparsity)
        {
            return Dense($"sparsity below the floor of {options.MinSparsity:P0}");
        }

        var formats = options.Formats.Where(f => matrixOp || f == SparseFormat.Csr).Distinct().ToList();
        if (formats.Count == 0)
        {
            return Dense("no allowed sparse form fits a convolution (it takes CSR only)");
        }
        List<byte[]> models = [SingleNode(graph, layer, inputShape, SparseFormat.Dense, options.Threads)];
        models.AddRange(formats.Select(f => SingleNode(graph, layer, inputShape, f, options.Threads)));
        var medians = TimeInterleaved(models, inputShape, options);
        double dense = medians[0];
        double? csr = null, blocks = null;
        for (int i = 0; i < formats.Count; i++)
        {
            if (formats[i] == SparseFormat.Csr)
            {
                csr = medians[i + 1];
            }
            else
            {
                blocks = medians[i + 1];
            }
        }
        int fastest = Enumerable.Range(0, formats.Count).MinBy(i => medians[i + 1]);
        var (best, bestTime) = (formats[fastest], medians[fastest + 1]);
        double speedup = dense / bestTime;
        var format = speedup >= options.MinSpeedup ? best : SparseFormat.Dense;
        string reason = format == SparseFormat.Dense
            ? $"best sparse form ({best.ToString().ToLowerInvariant()}) is {speedup:F2}x dense, below the {options.MinSpeedup:F2}x margin"
            : $"{speedup:F2}x faster than dense";
        return new LayerLowering(layer.Name, layer.OpType, shapeText, sparsity, blockSparsity, dense, csr, blocks, format, reason);
    }

    /// <summary>Why a Conv is not the pointwise convolution SparseConv1x1 computes, or null when it is.</summary>
    private static string? NotPointwise(WeightLayer layer)
    {
        var node = layer.Node;
        if (layer.WeightDims is not [_, _, 1, 1])
        {
            return "not a 1x1 convolution";
        }
        if (node.GetInts("strides", [1, 1]).Any(s => s != 1))
        {
            return "stride is not 1";
        }
        if (node.GetInts("pads", [0, 0, 0, 0]).Any(p => p != 0))
        {
            return "padded";
        }
        return null;
    }

    /// <summary>
    /// Every tensor's shape with the graph inputs' free dimensions set: the leading one to the batch, others
    /// from <paramref name="shapes"/>; a free dimension without a size is refused (timing at 1 would be meaningless).
    /// </summary>
    private static IReadOnlyDictionary<string, long[]> InputShapes(OnnxModel model, int batch, IReadOnlyDictionary<string, long[]> shapes)
    {
        var given = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var unsized = new List<string>();
        foreach (var input in model.Graph.RuntimeInputs)
        {
            if (shapes.TryGetValue(input.Name, out var shape))
            {
                given[input.Name] = [batch, .. shape.Skip(1)];
                continue;
            }
            if (input.GetShape() is not { } declared)
            {
                continue;
            }
            unsized.AddRange(declared.Select((d, i) => (d, i)).Skip(1).Where(p => p.d.Value is null).Select(p => $"{input.Name} axis {p.i} ('{p.d.Symbol ?? "?"}')"));
            given[input.Name] = [.. declared.Select((d, i) => d.Value ?? batch)];
        }
        if (unsized.Count > 0)
        {
            throw new ArgumentException($"symbolic input dimension(s) {string.Join(", ", unsized)} have no size: give the shape the layers are timed at (--shape NAME=D0xD1x...)");
        }
        return MacCounter.Count(model, given).Shapes;
    }

    /// <summary>A model of just this layer: input "x" of the given shape, output "y", dense or in a sparse form.</summary>
    private static byte[] SingleNode(OnnxGraph source, WeightLayer layer, long[] inputShape, SparseFormat format, int threads)
    {
        var model = OnnxModel.Create("layer");
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, [.. inputShape.Select(d => (OnnxDim)d)]));
        graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape("y", OnnxDataType.Float));
        if (layer.BiasName is not null)
        {
            graph.AddInitializer(source.FindInitializer(layer.BiasName)!.Clone());
        }
        if (format == SparseFormat.Dense)
        {
            graph.AddInitializer(source.FindInitializer(layer.WeightName)!.Clone());
            var node = layer.Node.Clone();
            node.Input[0] = "x";
            if (layer.OpType == "MatMul" && layer.BiasName is not null)
            {
                node.Output[0] = "product";
                graph.AddNode(node);
                graph.AddNode("Add", ["product", layer.BiasName], ["y"], "bias");
            }
            else
            {
                node.Output[0] = "y";
                graph.AddNode(node);
            }
        }
        else
        {
            graph.AddNode(AddSparseNode(graph, layer, layer.ReadMatrix(source), format, threads, "x", "y", "layer"));
            model.SetOpset(Domain, 1);
        }
        return model.ToBytes();
    }

    /// <summary>Adds the weight initializers of a sparse node, and returns the node (not yet in the graph) computing <paramref name="output"/> from <paramref name="input"/>.</summary>
    private static NodeProto AddSparseNode(OnnxGraph graph, WeightLayer layer, float[] matrix, SparseFormat format, int threads, string input, string output, string name)
    {
        string prefix = graph.UniqueName($"{layer.Name}.sparse");
        string starts = $"{prefix}.starts", indices = $"{prefix}.indices", values = $"{prefix}.values";
        string op;
        if (format == SparseFormat.Blocks)
        {
            var (groupStarts, blockRows, blockValues) = SparseWeights.Blocks(matrix, layer.Outputs, layer.Columns);
            graph.AddInitializer(TensorData.Vector(groupStarts).ToProto(starts));
            graph.AddInitializer(TensorData.Vector(blockRows).ToProto(indices));
            graph.AddInitializer(TensorData.Vector(blockValues).ToProto(values));
            op = "SparseBlockMatMul";
        }
        else
        {
            var (rowStarts, columns, csrValues) = SparseWeights.Csr(matrix, layer.Outputs, layer.Columns);
            graph.AddInitializer(TensorData.Vector(rowStarts).ToProto(starts));
            graph.AddInitializer(TensorData.Vector(columns).ToProto(indices));
            graph.AddInitializer(TensorData.Vector(csrValues).ToProto(values));
            op = layer.OpType == "Conv" ? "SparseConv1x1" : "SparseMatMul";
        }
        List<string> inputs = [input, starts, indices, values];
        if (layer.BiasName is not null)
        {
            inputs.Add(layer.BiasName);
        }
        var node = GraphNodes.Create(op, inputs, [output], name, Domain);
        node.SetInt("threads", threads);
        if (format == SparseFormat.Blocks)
        {
            node.SetInt("n", layer.Outputs);
        }
        return node;
    }

    private static void Replace(OnnxGraph graph, WeightLayer layer, SparseFormat format, int threads)
    {
        var node = AddSparseNode(graph, layer, layer.ReadMatrix(graph), format, threads, layer.InputName, layer.OutputName, graph.UniqueName($"{layer.Name}_sparse"));
        int at = graph.IndexOf(layer.Node);
        if (layer.OpType == "MatMul" && layer.OutputName != layer.Node.Output[0])
        {
            // MatMul + Add: the Add that carried the bias goes too.
            var add = graph.GetProducer(layer.OutputName)!;
            graph.RemoveNode(add);
        }
        graph.RemoveNode(layer.Node);
        graph.InsertNode(Math.Min(at, graph.Nodes.Count), node);
    }

    /// <summary>Median microseconds per run of each model, measured in interleaved rounds on one random input.</summary>
    private static double[] TimeInterleaved(IReadOnlyList<byte[]> models, long[] inputShape, SparseLoweringOptions options)
    {
        var sessions = new List<InferenceSession>();
        try
        {
            foreach (var (bytes, index) in models.Select((m, i) => (m, i)))
            {
                using var sessionOptions = new SessionOptions
                {
                    IntraOpNumThreads = options.Threads,
                    InterOpNumThreads = 1,
                    GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
                    LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
                };
                if (index > 0)
                {
                    sessionOptions.RegisterCustomOpLibrary(options.LibraryPath);
                }
                sessions.Add(new InferenceSession(bytes, sessionOptions));
            }
            var random = new Random(17);
            var x = new float[TensorShapes.ElementCount(inputShape)];
            for (int i = 0; i < x.Length; i++)
            {
                x[i] = random.NextSingle() * 2 - 1;
            }
            using var input = OrtValue.CreateTensorValueFromMemory(x, inputShape);
            using var runOptions = new RunOptions();
            string[] inputNames = ["x"], outputNames = ["y"];
            OrtValue[] inputs = [input];
            void RunOnce(InferenceSession session)
            {
                using var results = session.Run(runOptions, inputNames, inputs, outputNames);
            }
            foreach (var session in sessions)
            {
                for (int i = 0; i < 3; i++)
                {
                    RunOnce(session);
                }
            }
            var times = sessions.Select(_ => new List<double>()).ToList();
            for (int round = 0; round < options.Rounds; round++)
            {
                for (int s = 0; s < sessions.Count; s++)
                {
                    for (int run = 0; run < options.RunsPerRound; run++)
                    {
                        long start = Stopwatch.GetTimestamp();
                        RunOnce(sessions[s]);
                        times[s].Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                    }
                }
            }
            return [.. times.Select(Median)];
        }
        finally
        {
            foreach (var session in sessions)
            {
                session.Dispose();
            }
        }
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}
