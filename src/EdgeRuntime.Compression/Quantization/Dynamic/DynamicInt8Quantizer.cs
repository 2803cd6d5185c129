using EdgeRuntime.Compression.Diff;
using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Quantization.Dynamic;

/// <summary>
/// int8 dynamic quantization for MatMul/Gemm-heavy models (transformers, RNN projections): weights are
/// quantized offline to symmetric int8, activations to uint8 at run time from their own range.
/// </summary>
/// <remarks>
/// Each MatMul / Gemm with a constant weight becomes standard ONNX ops in the shape ONNX Runtime fuses:
/// <c>DynamicQuantizeLinear(x) → MatMulInteger(x_q, W_q, x_zp, W_zp) → Cast → Mul(·, x_scale · W_scale)</c>
/// (+ bias). Its optimizer turns that into one com.microsoft DynamicQuantizeMatMul (or MatMulIntegerToFloat
/// where several layers share the quantized input), so no weight is dequantized per run and the model stays
/// valid ONNX for other runtimes. Convolutions are left in float unless asked for: ConvInteger takes
/// per-tensor weights only and runs several times slower than ONNX Runtime's float Conv.
/// </remarks>
public static class DynamicInt8Quantizer
{
    private const long MinimumOpset = 11; // DynamicQuantizeLinear
    private const string MicrosoftDomain = "com.microsoft";

    public static QuantizationResult Quantize(OnnxModel model, DynamicOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new DynamicOptions();
        options.Validate();
        long opset = model.OpsetFor("") ?? 1;
        if (opset < MinimumOpset)
        {
            throw new NotSupportedException(
                $"int8-dynamic needs opset {MinimumOpset} or newer (DynamicQuantizeLinear); the model imports opset {opset}: upgrade its opset first");
        }
        var quantized = model.Clone();
        if (quantized.HasExternalData)
        {
            quantized.InternalizeExternalData();
        }
        // Weights the exporter left as computations on constants (LSTM gate blocks concatenated at run time) become initializers.
        int foldedWeights = Specialization.WeightFolding.Fold(quantized);
        var graph = quantized.Graph;
        // Weights that only one If/Loop/Scan body reads move into it, so their int8 forms live where they are used.
        ScopedGraph.LocalizeInitializers(graph);
        var known = new HashSet<string>(ScopedGraph.All(graph).SelectMany(g => g.Graph.Nodes).Select(n => n.Name), StringComparer.Ordinal);
        var unknown = options.ExcludedNodes.Where(n => !known.Contains(n)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"int8-dynamic: no node named {string.Join(", ", unknown.Select(n => $"'{n}'"))} in the model to exclude");
        }
        bool reduced = options.ResolveReducedRange();
        var rewriter = new Rewriter(graph, options, reduced ? 63 : 127) { OpsetBelow13 = opset < 13 };
        rewriter.Run();
        if (rewriter.Quantized == 0 && rewriter.StoredRecurrent == 0)
        {
            throw new NothingToQuantizeException($"int8-dynamic: nothing to quantize: {QuantizationDiagnosis.Explain(model, options.QuantizeGemm ? ["MatMul", "Gemm", "LSTM"] : ["MatMul", "LSTM"], rewriter.Warnings)}");
        }
        if (rewriter.QuantizedLstms > 0)
        {
            quantized.SetOpset(MicrosoftDomain, Math.Max(quantized.OpsetFor(MicrosoftDomain) ?? 1, 1));
        }
        // Innermost bodies first: a body may stop reading an outer weight once its int8 form replaced it.
        foreach (var scope in ScopedGraph.All(graph).Reverse())
        {
            LinearLayer.RemoveUnusedConstants(scope.Graph);
            scope.Graph.Invalidate();
            scope.Graph.RemoveUnusedInitializers();
            scope.Graph.SortTopologically();
        }
        string range = reduced ? "7-bit (reduce range)" : "full range";
        quantized.SetMetadata("edgeruntime.quantization.mode", QuantizationMode.Int8Dynamic.ToName());
        quantized.SetMetadata("edgeruntime.quantization.weights", $"int8 symmetric {(options.PerChannel ? "per-channel" : "per-tensor")}, {range}");
        if (options.VerifyWithOnnxRuntime)
        {
            QuantizedModelCheck.Verify(quantized, "int8-dynamic", "int8-dynamic");
        }
        string platform = options.WeightRange == Int8WeightRange.Auto ? $" (auto: {options.Platform ?? Int8Platform.Detect()})" : "";
        return new QuantizationResult(quantized, QuantizationMode.Int8Dynamic)
        {
            QuantizedNodes = rewriter.Quantized,
            QuantizedInSubgraphs = rewriter.QuantizedInSubgraphs,
            FloatNodes = rewriter.FloatNodes,
            Warnings = rewriter.Warnings,
            Applied =
            [
                $"int8-dynamic: {rewriter.Quantized} MatMul/Gemm{(options.QuantizeConvolutions ? "/Conv" : "")}/LSTM nodes ({rewriter.QuantizedInSubgraphs} inside If/Loop/Scan bodies, {rewriter.QuantizedLstms} LSTM as com.microsoft DynamicQuantizeLSTM); activations uint8 per tensor at run time",
                $"int8-dynamic: weights int8 symmetric {(options.PerChannel ? "per output channel" : "per tensor")}, {range}{platform}",
                .. (rewriter.StoredRecurrent > 0 ? [$"int8-dynamic: {rewriter.StoredRecurrent} GRU/RNN node(s) keep float32 compute (no quantized kernel in ONNX Runtime); their weights are stored int8 per gate row"] : Array.Empty<string>()),
                .. (foldedWeights > 0 ? [$"int8-dynamic: {foldedWeights} constant computation(s) (weights built from Constant nodes) folded into initializers first"] : Array.Empty<string>()),
            ],
        };
    }

    private sealed class Rewriter(OnnxGraph main, DynamicOptions options, int weightMax)
    {
        private readonly Dictionary<(GraphProto Graph, string Name), (string Quantized, string Scale, string ZeroPoint)> _activations = new(ScopedGraph.GraphAndName);
        private readonly Dictionary<(GraphProto Graph, string Name), (string Weight, string Scale, string ZeroPoint)> _weights = new(ScopedGraph.GraphAndName);
        private readonly List<string> _floatNodes = [];
        private readonly List<string> _warnings = [];
        private ScopedGraph _scope = null!;

        public int Quantized { get; private set; }
        public int QuantizedInSubgraphs { get; private set; }
        public int QuantizedLstms { get; private set; }
        public int StoredRecurrent { get; private set; }
        public IReadOnlyList<string> FloatNodes => _floatNodes;
        public IReadOnlyList<string> Warnings => _warnings;

        /// <summary>The graph being rewritten (the main graph or a body).</summary>
        private OnnxGraph graph => _scope.Graph;

        /// <summary>New names come from the main graph, which knows every name in every body.</summary>
        private OnnxGraph names => main;

        public void Run()
        {
            // Every graph, bodies included: a body's MatMul is as much the model's compute as the main graph's.
            foreach (var scope in ScopedGraph.All(main))
            {
                _scope = scope;
                int before = Quantized;
                RunGraph();
                if (!scope.IsMain)
                {
                    QuantizedInSubgraphs += Quantized - before;
                }
            }
        }

        private void RunGraph()
        {
            foreach (var node in graph.Nodes.ToList())
            {
                if (options.ExcludedNodes.Contains(node.Name))
                {
                    _floatNodes.Add(node.Name);
                    continue;
                }
                if (node.OpType == "Conv" && node.Domain is ("" or "ai.onnx"))
                {
                    if (options.QuantizeConvolutions)
                    {
                        RewriteConv(node);
                    }
                    continue;
                }
                if (node.OpType == "LSTM" && node.Domain is ("" or "ai.onnx"))
                {
                    RewriteLstm(node);
                    continue;
                }
                if (node.OpType is "GRU" or "RNN" && node.Domain is ("" or "ai.onnx"))
                {
                    StoreRecurrentWeightsInInt8(node);
                    continue;
                }
                var layer = LinearLayer.TryRead(graph, node, options.QuantizeGemm, out string? skipReason, _scope);
                if (layer is not null)
                {
                    RewriteLinear(layer);
                }
                else if (skipReason is not null)
                {
                    _floatNodes.Add(NameOf(node));
                    _warnings.Add($"kept {GraphNodes.Describe(node)} in float: {skipReason}");
                }
            }
        }

        /// <summary>
        /// LSTM with constant W and R → com.microsoft DynamicQuantizeLSTM, ONNX Runtime's fused int8 LSTM: the input
        /// is quantized per step at run time, W and R are int8 per gate row. The op takes W as [dirs, input, 4·hidden]
        /// and R as [dirs, hidden, 4·hidden], transposed against ONNX LSTM's [dirs, 4·hidden, input|hidden].
        /// </summary>
        private void RewriteLstm(NodeProto lstm)
        {
            string name = NameOf(lstm);
            if (lstm.GetInt("layout") != 0)
            {
                Keep(lstm, "layout=1 (batch first) has no DynamicQuantizeLSTM form");
                return;
            }
            if (lstm.Input.Count < 3
                || _scope.ConstantValue(lstm.Input[1]) is not { DataType: OnnxDataType.Float, Rank: 3 } w
                || _scope.ConstantValue(lstm.Input[2]) is not { DataType: OnnxDataType.Float, Rank: 3 } r)
            {
                Keep(lstm, "its W and R are not constant float tensors");
                return;
            }
            var (wq, ws, wz) = QuantizeRecurrentWeight(lstm.Input[1], w);
            var (rq, rs, rz) = QuantizeRecurrentWeight(lstm.Input[2], r);
            var inputs = new string[12];
            for (int i = 0; i < inputs.Length; i++)
            {
                inputs[i] = i < lstm.Input.Count && i is not (1 or 2) ? lstm.Input[i] : "";
            }
            (inputs[1], inputs[2]) = (wq, rq);
            (inputs[8], inputs[9], inputs[10], inputs[11]) = (ws, wz, rs, rz);
            var fused = GraphNodes.Create("DynamicQuantizeLSTM", inputs, lstm.Output, names.UniqueName($"{name}_quant"), MicrosoftDomain);
            foreach (var attribute in lstm.Attribute.Where(a => a.Name != "layout"))
            {
                fused.Attribute.Add(attribute.Clone());
            }
            int index = graph.IndexOf(lstm);
            graph.RemoveNode(lstm);
            graph.InsertNode(index, fused);
            Quantized++;
            QuantizedLstms++;
        }

        /// <summary>[dirs, rows, cols] float → int8 [dirs, cols, rows] with one scale per (direction, row).</summary>
        private (string Weight, string Scale, string ZeroPoint) QuantizeRecurrentWeight(string name, TensorData data)
        {
            var owner = _scope.InitializerOwner(name) ?? graph;
            if (_weights.TryGetValue((owner.Proto, $"{name}^lstm"), out var existing))
            {
                return existing;
            }
            int directions = (int)data.Dims[0], rows = (int)data.Dims[1], columns = (int)data.Dims[2];
            float[] values = data.ToFloatArray();
            var quantized = new sbyte[values.Length];
            var scales = new float[directions * rows];
            for (int d = 0; d < directions; d++)
            {
                for (int row = 0; row < rows; row++)
                {
                    int start = (d * rows + row) * columns;
                    float max = 0;
                    for (int c = 0; c < columns; c++)
                    {
                        max = Math.Max(max, Math.Abs(values[start + c]));
                    }
                    float scale = Scale(max);
                    scales[d * rows + row] = scale;
                    for (int c = 0; c < columns; c++)
                    {
                        quantized[(d * columns + c) * rows + row] =
                            (sbyte)Math.Clamp(MathF.Round(values[start + c] / scale, MidpointRounding.ToEven), -weightMax, weightMax);
                    }
                }
            }
            var result = (names.UniqueName($"{name}_int8"), names.UniqueName($"{name}_scale"), names.UniqueName($"{name}_zero_point"));
            owner.AddInitializer(TensorData.Create(quantized, directions, columns, rows).ToProto(result.Item1));
            owner.AddInitializer(TensorData.Create(scales, directions, rows).ToProto(result.Item2));
            owner.AddInitializer(TensorData.Create(new sbyte[directions * rows], directions, rows).ToProto(result.Item3));
            _weights[(owner.Proto, $"{name}^lstm")] = result;
            return result;
        }

        /// <summary>
        /// GRU/RNN: ONNX Runtime has no integer kernel for them, so they compute in float32. Their W and R are still
        /// stored as int8 (one scale per gate row) behind a DequantizeLinear, which ONNX Runtime folds back to float32
        /// when it loads the model: the file shrinks, the run time and its arithmetic stay those of float32 weights
        /// with int8 rounding. Counted as float nodes, with a warning saying so.
        /// </summary>
        private void StoreRecurrentWeightsInInt8(NodeProto node)
        {
            string why = $"ONNX Runtime has no quantized {node.OpType} kernel (only LSTM has one, DynamicQuantizeLSTM)";
            if (OpsetBelow13)
            {
                Keep(node, $"{why}; its weights stay float32 (per-row int8 storage needs opset 13)");
                return;
            }
            int stored = 0;
            for (int input = 1; input <= 2 && input < node.Input.Count; input++)
            {
                string name = node.Input[input];
                if (_scope.ConstantValue(name) is not { DataType: OnnxDataType.Float, Rank: 3 } data)
                {
                    continue;
                }
                var owner = _scope.InitializerOwner(name) ?? graph;
                if (!_weights.TryGetValue((owner.Proto, $"{name}^dq"), out var names_))
                {
                    int directions = (int)data.Dims[0], rows = (int)data.Dims[1], columns = (int)data.Dims[2];
                    float[] values = data.ToFloatArray();
                    var scales = new float[rows];
                    for (int d = 0; d < directions; d++)
                    {
                        for (int row = 0; row < rows; row++)
                        {
                            for (int c = 0; c < columns; c++)
                            {
                                scales[row] = Math.Max(scales[row], Math.Abs(values[(d * rows + row) * columns + c]));
                            }
                        }
                    }
                    for (int row = 0; row < rows; row++)
                    {
                        scales[row] = Scale(scales[row]);
                    }
                    var quantized = Quantize(values, i => scales[i / columns % rows]);
                    names_ = (names.UniqueName($"{name}_int8"), names.UniqueName($"{name}_scale"), names.UniqueName($"{name}_zero_point"));
                    owner.AddInitializer(TensorData.Create(quantized, directions, rows, columns).ToProto(names_.Item1));
                    owner.AddInitializer(TensorData.Vector(scales).ToProto(names_.Item2));
                    owner.AddInitializer(TensorData.Vector(new sbyte[rows]).ToProto(names_.Item3));
                    _weights[(owner.Proto, $"{name}^dq")] = names_;
                }
                string restored = names.UniqueName($"{name}_dequantized");
                var dequantize = GraphNodes.Create("DequantizeLinear", [names_.Item1, names_.Item2, names_.Item3], [restored], names.UniqueName($"{name}_DequantizeLinear"));
                dequantize.SetInt("axis", 1);
                graph.InsertNode(graph.IndexOf(node), dequantize);
                node.Input[input] = restored;
                graph.Invalidate();
                stored++;
            }
            _floatNodes.Add(NameOf(node));
            StoredRecurrent += stored > 0 ? 1 : 0;
            _warnings.Add(stored > 0
                ? $"{GraphNodes.Describe(node)} computes in float32: {why}; its W and R are stored as int8 and restored to float32 when ONNX Runtime loads the model"
                : $"kept {GraphNodes.Describe(node)} in float: {why}");
        }

        /// <summary>Per-axis DequantizeLinear (one scale per gate row) needs opset 13.</summary>
        public bool OpsetBelow13 { get; init; }

        private void Keep(NodeProto node, string reason)
        {
            _floatNodes.Add(NameOf(node));
            _warnings.Add($"kept {GraphNodes.Describe(node)} in float: {reason}");
        }

        private void RewriteLinear(LinearLayer layer)
        {
            var (input, inputScale, inputZeroPoint) = QuantizeActivation(layer.Input);
            var (weight, weightScale, weightZeroPoint) = QuantizeWeight(layer);
            string name = NameOf(layer.Node);
            string product = names.UniqueName($"{name}_int32");
            string asFloat = names.UniqueName($"{name}_int32_float");
            string scale = names.UniqueName($"{name}_scale");
            string result = layer.BiasTensor is null ? layer.Output : names.UniqueName($"{name}_no_bias");
            int index = graph.IndexOf(layer.Node);
            graph.RemoveNode(layer.Node);
            var nodes = new List<NodeProto>
            {
                GraphNodes.Create("MatMulInteger", [input, weight, inputZeroPoint, weightZeroPoint], [product], names.UniqueName($"{name}_MatMulInteger")),
                GraphNodes.Create("Cast", [product], [asFloat], names.UniqueName($"{name}_Cast")).SetInt("to", (long)OnnxDataType.Float),
                GraphNodes.Create("Mul", [inputScale, weightScale], [scale], names.UniqueName($"{name}_scale_Mul")),
                GraphNodes.Create("Mul", [asFloat, scale], [result], names.UniqueName($"{name}_Mul")),
            };
            if (layer.BiasTensor is not null)
            {
                nodes.Add(GraphNodes.Create("Add", [result, layer.BiasTensor], [layer.Output], names.UniqueName($"{name}_bias_Add")));
            }
            foreach (var node in nodes)
            {
                graph.InsertNode(index++, node);
            }
            Quantized++;
        }

        /// <summary>ConvInteger with per-tensor weights (all ONNX Runtime's kernel takes), then scale and bias in float.</summary>
        private void RewriteConv(NodeProto conv)
        {
            if (_scope.ConstantValue(conv.Input[1]) is not { DataType: OnnxDataType.Float } weightData)
            {
                return;
            }
            if (conv.Input.Count > 2 && conv.Input[2].Length > 0 && _scope.ConstantValue(conv.Input[2]) is null)
            {
                _floatNodes.Add(NameOf(conv));
                _warnings.Add($"kept {GraphNodes.Describe(conv)} in float: its bias is computed, not constant");
                return;
            }
            float[] values = weightData.ToFloatArray();
            float scale = Scale(values.Max(Math.Abs));
            string name = NameOf(conv);
            string weight = names.UniqueName($"{conv.Input[1]}_int8");
            graph.AddInitializer(TensorData.Create(Quantize(values, _ => scale), [.. weightData.Dims]).ToProto(weight));
            string weightScale = names.UniqueName($"{conv.Input[1]}_scale");
            graph.AddInitializer(TensorData.Scalar(scale).ToProto(weightScale));
            string weightZeroPoint = names.UniqueName($"{conv.Input[1]}_zero_point");
            graph.AddInitializer(TensorData.Scalar((sbyte)0).ToProto(weightZeroPoint));
            var (input, inputScale, inputZeroPoint) = QuantizeActivation(conv.Input[0]);
            string product = names.UniqueName($"{name}_int32");
            string asFloat = names.UniqueName($"{name}_int32_float");
            string combined = names.UniqueName($"{name}_scale");
            bool hasBias = conv.Input.Count > 2 && conv.Input[2].Length > 0;
            string output = conv.Output[0];
            string scaled = hasBias ? names.UniqueName($"{name}_no_bias") : output;
            var convInteger = GraphNodes.Create("ConvInteger", [input, weight, inputZeroPoint, weightZeroPoint], [product], names.UniqueName($"{name}_ConvInteger"));
            foreach (var attribute in conv.Attribute)
            {
                convInteger.Attribute.Add(attribute.Clone());
            }
            int index = graph.IndexOf(conv);
            graph.RemoveNode(conv);
            var nodes = new List<NodeProto>
            {
                convInteger,
                GraphNodes.Create("Cast", [product], [asFloat], names.UniqueName($"{name}_Cast")).SetInt("to", (long)OnnxDataType.Float),
                GraphNodes.Create("Mul", [inputScale, weightScale], [combined], names.UniqueName($"{name}_scale_Mul")),
                GraphNodes.Create("Mul", [asFloat, combined], [scaled], names.UniqueName($"{name}_Mul")),
            };
            if (hasBias)
            {
                // Conv's bias is [M]; the output is [N, M, spatial...], so the bias needs trailing unit axes.
                var bias = _scope.ConstantValue(conv.Input[2])!;
                int rank = weightData.Rank;
                long[] dims = [bias.Dims[0], .. Enumerable.Repeat(1L, rank - 2)];
                string reshaped = names.UniqueName($"{conv.Input[2]}_per_channel");
                graph.AddInitializer(bias.WithDims(dims).ToProto(reshaped));
                nodes.Add(GraphNodes.Create("Add", [scaled, reshaped], [output], names.UniqueName($"{name}_bias_Add")));
            }
            foreach (var node in nodes)
            {
                graph.InsertNode(index++, node);
            }
            Quantized++;
        }

        private (string Quantized, string Scale, string ZeroPoint) QuantizeActivation(string input)
        {
            if (_activations.TryGetValue((graph.Proto, input), out var existing))
            {
                return existing;
            }
            var quantizedNames = (names.UniqueName($"{input}_quantized"), names.UniqueName($"{input}_scale"), names.UniqueName($"{input}_zero_point"));
            var node = GraphNodes.Create("DynamicQuantizeLinear", [input], [quantizedNames.Item1, quantizedNames.Item2, quantizedNames.Item3], names.UniqueName($"{input}_DynamicQuantizeLinear"));
            int index = graph.GetProducer(input) is { } producer ? graph.IndexOf(producer) + 1 : 0;
            graph.InsertNode(index, node);
            _activations[(graph.Proto, input)] = quantizedNames;
            return quantizedNames;
        }

        private (string Weight, string Scale, string ZeroPoint) QuantizeWeight(LinearLayer layer)
        {
            // The int8 weight goes where the float one was, so every body that could read the original can read it.
            var owner = _scope.InitializerOwner(layer.Node.Input[1]) ?? graph;
            if (_weights.TryGetValue((owner.Proto, layer.WeightName), out var existing))
            {
                return existing;
            }
            int k = layer.K, n = layer.N;
            float[] scales;
            if (options.PerChannel)
            {
                scales = new float[n];
                for (int column = 0; column < n; column++)
                {
                    float max = 0;
                    for (int row = 0; row < k; row++)
                    {
                        max = Math.Max(max, Math.Abs(layer.Weight[row * n + column]));
                    }
                    scales[column] = Scale(max);
                }
            }
            else
            {
                scales = [Scale(layer.Weight.Max(Math.Abs))];
            }
            var quantized = Quantize(layer.Weight, i => scales[options.PerChannel ? i % n : 0]);
            string baseName = layer.Node.Input[1];
            var weightNames = (names.UniqueName($"{baseName}_int8"), names.UniqueName($"{baseName}_scale"), names.UniqueName($"{baseName}_zero_point"));
            owner.AddInitializer(TensorData.Create(quantized, k, n).ToProto(weightNames.Item1));
            owner.AddInitializer((options.PerChannel ? TensorData.Vector(scales) : TensorData.Scalar(scales[0])).ToProto(weightNames.Item2));
            owner.AddInitializer((options.PerChannel ? TensorData.Vector(new sbyte[n]) : TensorData.Scalar((sbyte)0)).ToProto(weightNames.Item3));
            _weights[(owner.Proto, layer.WeightName)] = weightNames;
            return weightNames;
        }

        private float Scale(float maxAbs) => maxAbs > 0 ? maxAbs / weightMax : 1f;

        private sbyte[] Quantize(float[] values, Func<int, float> scaleOf)
        {
            var quantized = new sbyte[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                quantized[i] = (sbyte)Math.Clamp(MathF.Round(values[i] / scaleOf(i), MidpointRounding.ToEven), -weightMax, weightMax);
            }
            return quantized;
        }

        private static string NameOf(NodeProto node) => node.Name.Length > 0 ? node.Name : node.Output.FirstOrDefault(o => o.Length > 0) ?? node.OpType;
    }
}
