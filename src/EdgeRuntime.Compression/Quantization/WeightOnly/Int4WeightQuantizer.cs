using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Diff;
using EdgeRuntime.Compression.Quantization.Dynamic;
using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Quantization.WeightOnly;

/// <summary>
/// 4-bit weight-only quantization: each MatMul (and Gemm) with a constant [K, N] weight becomes ONNX
/// Runtime's com.microsoft MatMulNBits, which keeps the weight packed two codes per byte in blocks of
/// 32/64/128 along K with a float scale (and a 4-bit zero point) per block; activations stay float.
/// The weight shrinks to about 1/7 of float32 (block 32, with zero points).
/// </summary>
public static class Int4WeightQuantizer
{
    private const string MicrosoftDomain = "com.microsoft";

    /// <param name="calibration">Model inputs for <see cref="Int4Algorithm.Gptq"/>; ignored by round-to-nearest.</param>
    public static QuantizationResult Quantize(OnnxModel model, Int4Options? options = null, CalibrationData? calibration = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new Int4Options();
        options.Validate();
        if (options.Algorithm == Int4Algorithm.Gptq && calibration is null)
        {
            throw new ArgumentException("int4-weight: GPTQ needs calibration data (the inputs of each layer); give some, or use round-to-nearest");
        }
        var quantized = model.Clone();
        if (quantized.HasExternalData)
        {
            quantized.InternalizeExternalData();
        }
        var graph = quantized.Graph;
        ScopedGraph.LocalizeInitializers(graph);
        var scopes = ScopedGraph.All(graph);
        var known = new HashSet<string>(scopes.SelectMany(g => g.Graph.Nodes).Select(n => n.Name), StringComparer.Ordinal);
        var unknown = options.ExcludedNodes.Where(n => !known.Contains(n)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"int4-weight: no node named {string.Join(", ", unknown.Select(n => $"'{n}'"))} in the model to exclude");
        }

        var floatNodes = new List<string>();
        var warnings = new List<string>();
        var layers = new List<LinearLayer>();
        var embeddings = new List<NodeProto>();
        var layerScopes = new Dictionary<NodeProto, ScopedGraph>(ReferenceEqualityComparer.Instance);
        foreach (var scope in scopes)
        {
            foreach (var node in scope.Graph.Nodes.ToList())
            {
                if (options.ExcludedNodes.Contains(node.Name))
                {
                    floatNodes.Add(node.Name);
                    continue;
                }
                if (node.OpType is "LSTM" or "GRU" or "RNN" && node.Domain is "" or "ai.onnx")
                {
                    floatNodes.Add(NameOf(node));
                    warnings.Add($"kept {GraphNodes.Describe(node)} in float: ONNX Runtime has no 4-bit recurrent kernel{(node.OpType == "LSTM" ? " (int8-dynamic quantizes LSTM)" : "")}");
                    continue;
                }
                if (scope.IsMain && options.QuantizeEmbeddings && IsEmbedding(graph, node))
                {
                    int width = (int)graph.FindInitializer(node.Input[0])!.Dims[1];
                    if (width % options.BlockSize == 0)
                    {
                        embeddings.Add(node);
                    }
                    else
                    {
                        floatNodes.Add(NameOf(node));
                        warnings.Add($"kept {GraphNodes.Describe(node)} in float: its rows of {width} are no multiple of the block size {options.BlockSize}");
                    }
                    continue;
                }
                var layer = LinearLayer.TryRead(scope.Graph, node, options.QuantizeGemm, out string? skipReason, scope);
                if (layer is not null)
                {
                    layers.Add(layer);
                    layerScopes[node] = scope;
                }
                else if (skipReason is not null)
                {
                    floatNodes.Add(NameOf(node));
                    warnings.Add($"kept {GraphNodes.Describe(node)} in float: {skipReason}");
                }
            }
        }
        if (layers.Count + embeddings.Count == 0)
        {
            throw new NothingToQuantizeException($"int4-weight: nothing to quantize: {QuantizationDiagnosis.Explain(model, options.QuantizeGemm ? ["MatMul", "Gemm"] : ["MatMul"], warnings)}");
        }
        var bodyLayers = layers.Where(l => !layerScopes[l.Node].IsMain).ToList();
        if (options.Algorithm == Int4Algorithm.Gptq && bodyLayers.Count > 0)
        {
            // GPTQ needs each layer's inputs, which ONNX Runtime cannot hand out from inside a body.
            warnings.Add($"{bodyLayers.Count} layer(s) inside If/Loop/Scan bodies use round-to-nearest: GPTQ statistics are collected in the main graph only");
        }

        Dictionary<string, HessianAccumulator>? hessians = null;
        if (options.Algorithm == Int4Algorithm.Gptq && layers.Count > 0)
        {
            var inputs = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var layer in layers.Except(bodyLayers))
            {
                if (inputs.TryGetValue(layer.Input, out int k) && k != layer.K)
                {
                    throw new InvalidOperationException($"tensor '{layer.Input}' feeds layers of different widths ({k} and {layer.K})");
                }
                inputs[layer.Input] = layer.K;
            }
            hessians = HessianCollector.Collect(model, inputs, calibration!);
        }

        var hessianMatrices = new Dictionary<string, double[]>(StringComparer.Ordinal);
        var written = new Dictionary<(GraphProto Graph, string Name), string[]>(ScopedGraph.GraphAndName);
        long floatBytes = 0, packedBytes = 0;
        foreach (var layer in layers)
        {
            var scope = layerScopes[layer.Node];
            var owner = scope.InitializerOwner(layer.Node.Input[1]) ?? scope.Graph;
            if (!written.TryGetValue((owner.Proto, layer.WeightName), out var tensors))
            {
                Int4Blocks blocks;
                if (hessians is not null && scope.IsMain)
                {
                    if (!hessianMatrices.TryGetValue(layer.Input, out var hessian))
                    {
                        hessian = hessians[layer.Input].Hessian();
                        hessianMatrices[layer.Input] = hessian;
                    }
                    blocks = GptqQuantizer.Quantize(layer.Weight, layer.K, layer.N, hessian, options.BlockSize, options.Symmetric, options.GptqDampening);
                }
                else
                {
                    blocks = RoundToNearest.Quantize(layer.Weight, layer.K, layer.N, options.BlockSize, options.Symmetric);
                }
                tensors = AddInitializers(owner, graph, layer.Node.Input[1], blocks, options.Symmetric);
                written[(owner.Proto, layer.WeightName)] = tensors;
                floatBytes += 4L * layer.K * layer.N;
                packedBytes += blocks.Codes.Length / 2 + 4L * blocks.Scales.Length + (options.Symmetric ? 0 : (blocks.BlockCount + 1) / 2 * blocks.N);
            }
            Replace(scope.Graph, graph, layer, tensors, options);
        }
        var tables = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var node in embeddings)
        {
            string table = node.Input[0];
            if (!tables.TryGetValue(table, out var tensors))
            {
                var data = graph.GetInitializerData(table);
                int rows = checked((int)data.Dims[0]), width = checked((int)data.Dims[1]);
                // The table is [rows, K]; as a weight it is Wᵀ, so each row is one "output column" of blocks along K.
                float[] values = data.ToFloatArray();
                var transposed = new float[values.Length];
                for (int r = 0; r < rows; r++)
                {
                    for (int c = 0; c < width; c++)
                    {
                        transposed[c * rows + r] = values[r * width + c];
                    }
                }
                var blocks = RoundToNearest.Quantize(transposed, width, rows, options.BlockSize, options.Symmetric);
                tensors = AddTableInitializers(graph, table, blocks, options.Symmetric);
                tables[table] = tensors;
                floatBytes += 4L * values.Length;
                packedBytes += blocks.Codes.Length / 2 + 4L * blocks.Scales.Length + (options.Symmetric ? 0 : (blocks.BlockCount + 1) / 2 * blocks.N);
            }
            ReplaceGather(graph, node, tensors, options);
        }
        if (layers.Count + embeddings.Count > 0)
        {
            quantized.SetOpset(MicrosoftDomain, Math.Max(1, quantized.OpsetFor(MicrosoftDomain) ?? 1));
        }
        foreach (var scope in ScopedGraph.All(graph).Reverse())
        {
            LinearLayer.RemoveUnusedConstants(scope.Graph);
            scope.Graph.Invalidate();
            scope.Graph.RemoveUnusedInitializers();
            scope.Graph.SortTopologically();
        }
        string algorithm = options.Algorithm == Int4Algorithm.Gptq
            ? $"GPTQ on {calibration!.Description}, dampening {options.GptqDampening}"
            : "round-to-nearest";
        quantized.SetMetadata("edgeruntime.quantization.mode", QuantizationMode.Int4Weight.ToName());
        quantized.SetMetadata("edgeruntime.quantization.weights",
            $"int4 {(options.Symmetric ? "symmetric" : "asymmetric")} blocks of {options.BlockSize}, {algorithm}, accuracy_level {options.AccuracyLevel}");
        if (options.VerifyWithOnnxRuntime)
        {
            QuantizedModelCheck.Verify(quantized, "int4-weight", "int4-weight");
        }
        return new QuantizationResult(quantized, QuantizationMode.Int4Weight)
        {
            QuantizedNodes = layers.Count + embeddings.Count,
            QuantizedInSubgraphs = bodyLayers.Count,
            FloatNodes = floatNodes,
            Warnings = warnings,
            Applied =
            [
                $"int4-weight: {layers.Count} MatMul/Gemm nodes as MatMulNBits, {(options.Symmetric ? "symmetric" : "asymmetric")} blocks of {options.BlockSize} along K, {algorithm}",
                $"int4-weight: {embeddings.Count} embedding Gather nodes as GatherBlockQuantized (round-to-nearest)",
                $"int4-weight: quantized weights {packedBytes} bytes from {floatBytes} ({(floatBytes == 0 ? 0 : 100.0 * packedBytes / floatBytes):0.0}%); accuracy_level {options.AccuracyLevel}",
            ],
        };
    }

    /// <param name="names">The main graph, whose unique names are unique in every body too.</param>
    private static string[] AddInitializers(OnnxGraph graph, OnnxGraph names, string weightName, Int4Blocks blocks, bool symmetric)
    {
        string codes = names.UniqueName($"{weightName}_int4");
        string scales = names.UniqueName($"{weightName}_scales");
        graph.AddInitializer(TensorData.Create(blocks.PackCodes(), blocks.N, blocks.BlockCount, blocks.BlockSize / 2).ToProto(codes));
        graph.AddInitializer(TensorData.Create(blocks.Scales, blocks.N, blocks.BlockCount).ToProto(scales));
        if (symmetric)
        {
            return [codes, scales];
        }
        string zeroPoints = names.UniqueName($"{weightName}_zero_points");
        graph.AddInitializer(TensorData.Create(blocks.PackZeroPoints(), blocks.N, (blocks.BlockCount + 1) / 2).ToProto(zeroPoints));
        return [codes, scales, zeroPoints];
    }

    private static string[] AddTableInitializers(OnnxGraph graph, string tableName, Int4Blocks blocks, bool symmetric)
    {
        // Same blocks as MatMulNBits, but GatherBlockQuantized wants the codes as [rows, K / 2].
        var tensors = AddInitializers(graph, graph, tableName, blocks, symmetric);
        graph.SetInitializer(tensors[0], TensorData.Create(blocks.PackCodes(), blocks.N, blocks.BlockCount * blocks.BlockSize / 2));
        return tensors;
    }

    private static void ReplaceGather(OnnxGraph graph, NodeProto gather, string[] tensors, Int4Options options)
    {
        string name = NameOf(gather);
        var node = GraphNodes.Create("GatherBlockQuantized", [tensors[0], gather.Input[1], .. tensors[1..]], [gather.Output[0]], graph.UniqueName($"{name}_GatherBlockQuantized"), MicrosoftDomain);
        node.SetInt("bits", 4);
        node.SetInt("block_size", options.BlockSize);
        node.SetInt("gather_axis", 0);
        node.SetInt("quantize_axis", 1);
        int index = graph.IndexOf(gather);
        graph.RemoveNode(gather);
        graph.InsertNode(index, node);
    }

    /// <summary>A Gather along axis 0 from a constant float [rows, K] table.</summary>
    private static bool IsEmbedding(OnnxGraph graph, NodeProto node) =>
        node.OpType == "Gather" && node.Domain is ("" or "ai.onnx")
        && node.GetInt("axis") == 0
        && graph.FindInitializer(node.Input[0]) is { } table
        && (OnnxDataType)table.DataType == OnnxDataType.Float && table.Dims.Count == 2 && table.Dims[0] > 1;

    private static void Replace(OnnxGraph graph, OnnxGraph names, LinearLayer layer, string[] tensors, Int4Options options)
    {
        string name = NameOf(layer.Node);
        string output = layer.BiasTensor is null ? layer.Output : names.UniqueName($"{name}_no_bias");
        var matMul = GraphNodes.Create("MatMulNBits", [layer.Input, .. tensors], [output], names.UniqueName($"{name}_MatMulNBits"), MicrosoftDomain);
        matMul.SetInt("K", layer.K);
        matMul.SetInt("N", layer.N);
        matMul.SetInt("bits", 4);
        matMul.SetInt("block_size", options.BlockSize);
        if (options.AccuracyLevel > 0)
        {
            matMul.SetInt("accuracy_level", options.AccuracyLevel);
        }
        int index = graph.IndexOf(layer.Node);
        graph.RemoveNode(layer.Node);
        graph.InsertNode(index, matMul);
        if (layer.BiasTensor is not null)
        {
            graph.InsertNode(index + 1, GraphNodes.Create("Add", [output, layer.BiasTensor], [layer.Output], names.UniqueName($"{name}_bias_Add")));
        }
    }

    private static string NameOf(NodeProto node) => node.Name.Length > 0 ? node.Name : node.Output.FirstOrDefault(o => o.Length > 0) ?? node.OpType;
}
