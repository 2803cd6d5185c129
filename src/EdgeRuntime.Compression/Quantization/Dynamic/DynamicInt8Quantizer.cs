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
        var graph = quantized.Graph;
        var known = new HashSet<string>(graph.Nodes.Select(n => n.Name), StringComparer.Ordinal);
        var unknown = options.ExcludedNodes.Where(n => !known.Contains(n)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"int8-dynamic: no node named {string.Join(", ", unknown.Select(n => $"'{n}'"))} in the model to exclude");
        }
        bool reduced = options.ResolveReducedRange();
        var rewriter = new Rewriter(graph, options, reduced ? 63 : 127);
        rewriter.Run();
        LinearLayer.RemoveUnusedConstants(graph);
        graph.RemoveUnusedInitializers();
        graph.SortTopologically();
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
            FloatNodes = rewriter.FloatNodes,
            Warnings = rewriter.Warnings,
            Applied =
            [
                $"int8-dynamic: {rewriter.Quantized} MatMul/Gemm{(options.QuantizeConvolutions ? "/Conv" : "")} nodes; activations uint8 per tensor at run time",
                $"int8-dynamic: weights int8 symmetric {(options.PerChannel ? "per output channel" : "per tensor")}, {range}{platform}",
            ],
        };
    }

    private sealed class Rewriter(OnnxGraph graph, DynamicOptions options, int weightMax)
    {
        private readonly Dictionary<string, (string Quantized, string Scale, string ZeroPoint)> _activations = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (string Weight, string Scale, string ZeroPoint)> _weights = new(StringComparer.Ordinal);
        private readonly List<string> _floatNodes = [];
        private readonly List<string> _warnings = [];

        public int Quantized { get; private set; }
        public IReadOnlyList<string> FloatNodes => _floatNodes;
        public IReadOnlyList<string> Warnings => _warnings;

        public void Run()
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
                var layer = LinearLayer.TryRead(graph, node, options.QuantizeGemm, out string? skipReason);
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
            WarnAboutSubgraphs();
        }

        private void RewriteLinear(LinearLayer layer)
        {
            var (input, inputScale, inputZeroPoint) = QuantizeActivation(layer.Input);
            var (weight, weightScale, weightZeroPoint) = QuantizeWeight(layer);
            string name = NameOf(layer.Node);
            string product = graph.UniqueName($"{name}_int32");
            string asFloat = graph.UniqueName($"{name}_int32_float");
            string scale = graph.UniqueName($"{name}_scale");
            string result = layer.BiasTensor is null ? layer.Output : graph.UniqueName($"{name}_no_bias");
            int index = graph.IndexOf(layer.Node);
            graph.RemoveNode(layer.Node);
            var nodes = new List<NodeProto>
            {
                GraphNodes.Create("MatMulInteger", [input, weight, inputZeroPoint, weightZeroPoint], [product], graph.UniqueName($"{name}_MatMulInteger")),
                GraphNodes.Create("Cast", [product], [asFloat], graph.UniqueName($"{name}_Cast")).SetInt("to", (long)OnnxDataType.Float),
                GraphNodes.Create("Mul", [inputScale, weightScale], [scale], graph.UniqueName($"{name}_scale_Mul")),
                GraphNodes.Create("Mul", [asFloat, scale], [result], graph.UniqueName($"{name}_Mul")),
            };
            if (layer.BiasTensor is not null)
            {
                nodes.Add(GraphNodes.Create("Add", [result, layer.BiasTensor], [layer.Output], graph.UniqueName($"{name}_bias_Add")));
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
            if (LinearLayer.ConstantValue(graph, conv.Input[1]) is not { DataType: OnnxDataType.Float } weightData)
            {
                return;
            }
            if (conv.Input.Count > 2 && conv.Input[2].Length > 0 && LinearLayer.ConstantValue(graph, conv.Input[2]) is null)
            {
                _floatNodes.Add(NameOf(conv));
                _warnings.Add($"kept {GraphNodes.Describe(conv)} in float: its bias is computed, not constant");
                return;
            }
            float[] values = weightData.ToFloatArray();
            float scale = Scale(values.Max(Math.Abs));
            string name = NameOf(conv);
            string weight = graph.UniqueName($"{conv.Input[1]}_int8");
            graph.AddInitializer(TensorData.Create(Quantize(values, _ => scale), [.. weightData.Dims]).ToProto(weight));
            string weightScale = graph.UniqueName($"{conv.Input[1]}_scale");
            graph.AddInitializer(TensorData.Scalar(scale).ToProto(weightScale));
            string weightZeroPoint = graph.UniqueName($"{conv.Input[1]}_zero_point");
            graph.AddInitializer(TensorData.Scalar((sbyte)0).ToProto(weightZeroPoint));
            var (input, inputScale, inputZeroPoint) = QuantizeActivation(conv.Input[0]);
            string product = graph.UniqueName($"{name}_int32");
            string asFloat = graph.UniqueName($"{name}_int32_float");
            string combined = graph.UniqueName($"{name}_scale");
            bool hasBias = conv.Input.Count > 2 && conv.Input[2].Length > 0;
            string output = conv.Output[0];
            string scaled = hasBias ? graph.UniqueName($"{name}_no_bias") : output;
            var convInteger = GraphNodes.Create("ConvInteger", [input, weight, inputZeroPoint, weightZeroPoint], [product], graph.UniqueName($"{name}_ConvInteger"));
            foreach (var attribute in conv.Attribute)
            {
                convInteger.Attribute.Add(attribute.Clone());
            }
            int index = graph.IndexOf(conv);
            graph.RemoveNode(conv);
            var nodes = new List<NodeProto>
            {
                convInteger,
                GraphNodes.Create("Cast", [product], [asFloat], graph.UniqueName($"{name}_Cast")).SetInt("to", (long)OnnxDataType.Float),
                GraphNodes.Create("Mul", [inputScale, weightScale], [combined], graph.UniqueName($"{name}_scale_Mul")),
                GraphNodes.Create("Mul", [asFloat, combined], [scaled], graph.UniqueName($"{name}_Mul")),
            };
            if (hasBias)
            {
                // Conv's bias is [M]; the output is [N, M, spatial...], so the bias needs trailing unit axes.
                var bias = LinearLayer.ConstantValue(graph, conv.Input[2])!;
                int rank = weightData.Rank;
                long[] dims = [bias.Dims[0], .. Enumerable.Repeat(1L, rank - 2)];
                string reshaped = graph.UniqueName($"{conv.Input[2]}_per_channel");
                graph.AddInitializer(bias.WithDims(dims).ToProto(reshaped));
                nodes.Add(GraphNodes.Create("Add", [scaled, reshaped], [output], graph.UniqueName($"{name}_bias_Add")));
            }
            foreach (var node in nodes)
            {
                graph.InsertNode(index++, node);
            }
            Quantized++;
        }

        private (string Quantized, string Scale, string ZeroPoint) QuantizeActivation(string input)
        {
            if (_activations.TryGetValue(input, out var existing))
            {
                return existing;
            }
            var names = (graph.UniqueName($"{input}_quantized"), graph.UniqueName($"{input}_scale"), graph.UniqueName($"{input}_zero_point"));
            var node = GraphNodes.Create("DynamicQuantizeLinear", [input], [names.Item1, names.Item2, names.Item3], graph.UniqueName($"{input}_DynamicQuantizeLinear"));
            int index = graph.GetProducer(input) is { } producer ? graph.IndexOf(producer) + 1 : 0;
            graph.InsertNode(index, node);
            _activations[input] = names;
            return names;
        }

        private (string Weight, string Scale, string ZeroPoint) QuantizeWeight(LinearLayer layer)
        {
            if (_weights.TryGetValue(layer.WeightName, out var existing))
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
            var names = (graph.UniqueName($"{baseName}_int8"), graph.UniqueName($"{baseName}_scale"), graph.UniqueName($"{baseName}_zero_point"));
            graph.AddInitializer(TensorData.Create(quantized, k, n).ToProto(names.Item1));
            graph.AddInitializer((options.PerChannel ? TensorData.Vector(scales) : TensorData.Scalar(scales[0])).ToProto(names.Item2));
            graph.AddInitializer((options.PerChannel ? TensorData.Vector(new sbyte[n]) : TensorData.Scalar((sbyte)0)).ToProto(names.Item3));
            _weights[layer.WeightName] = names;
            return names;
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

        private void WarnAboutSubgraphs()
        {
            foreach (var node in graph.Nodes.Where(n => n.GetSubgraphs().Any()))
            {
                bool hasLinear = node.GetSubgraphs().Any(g => ContainsLinear(g));
                if (hasLinear)
                {
                    _floatNodes.Add(NameOf(node));
                    _warnings.Add($"kept {GraphNodes.Describe(node)} in float: MatMul/Gemm inside control flow (its body) is not quantized");
                }
            }
        }

        private static bool ContainsLinear(GraphProto graph) =>
            graph.Node.Any(n => n.OpType is "MatMul" or "Gemm" || n.GetSubgraphs().Any(ContainsLinear));

        private static string NameOf(NodeProto node) => node.Name.Length > 0 ? node.Name : node.Output.FirstOrDefault(o => o.Length > 0) ?? node.OpType;
    }
}
