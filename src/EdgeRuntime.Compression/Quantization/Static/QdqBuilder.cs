using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Quantization.Static;

/// <summary>Writes a <see cref="QdqPlan"/> into a copy of the model: Q/DQ pairs, int8 weights, int32 biases.</summary>
internal sealed class QdqBuilder
{
    private readonly OnnxGraph _graph;
    private readonly OnnxGraph _names;
    private readonly QdqPlan _plan;
    private readonly CalibrationResult _calibration;
    private readonly bool _reducedRange;
    private readonly bool _perChannel;
    private readonly bool _biasCorrection;
    private readonly Dictionary<string, string> _quantizedWeights = [];

    private QdqBuilder(OnnxGraph graph, OnnxGraph names, QdqPlan plan, CalibrationResult calibration, bool reducedRange, bool perChannel, bool biasCorrection)
    {
        _graph = graph;
        _names = names;
        _plan = plan;
        _calibration = calibration;
        _reducedRange = reducedRange;
        _perChannel = perChannel;
        _biasCorrection = biasCorrection;
    }

    /// <param name="model">A model whose nodes all have unique names (the plans refer to them by name).</param>
    /// <param name="plans">One plan per graph, in the order of <see cref="ScopedGraph.All"/>: the main graph, then each body.</param>
    public static OnnxModel Build(OnnxModel model, IReadOnlyList<QdqPlan> plans, CalibrationResult calibration, bool reducedRange, bool perChannel, bool biasCorrection)
    {
        var copy = model.Clone();
        var scopes = ScopedGraph.All(copy.Graph);
        if (scopes.Count != plans.Count)
        {
            throw new InvalidOperationException($"{plans.Count} plans for {scopes.Count} graphs");
        }
        // Innermost first, so a body's edits are done before the graph around it sorts and prunes.
        for (int i = scopes.Count - 1; i >= 0; i--)
        {
            new QdqBuilder(scopes[i].Graph, copy.Graph, plans[i], calibration, reducedRange, perChannel, biasCorrection).Apply();
        }
        return copy;
    }

    private void Apply()
    {
        var byName = _graph.Nodes.ToDictionary(n => n.Name);
        foreach (var (producerName, activation) in _plan.Fusions)
        {
            var producer = byName[producerName];
            producer.Output[0] = activation.Output[0];
            _graph.RemoveNode(byName[activation.Name]);
        }
        _graph.Invalidate();
        foreach (string tensor in _plan.QuantizedTensors.ToList())
        {
            InsertQdq(tensor);
        }
        foreach (var planned in _plan.Nodes)
        {
            var node = byName[planned.Name];
            if (node.OpType is "Conv" or "Gemm" || (node.OpType == "MatMul" && _graph.IsInitializer(node.Input[1])))
            {
                QuantizeWeightsAndBias(node, planned);
            }
        }
        _graph.Invalidate();
        _graph.RemoveUnusedInitializers();
        _graph.SortTopologically();
    }

    public (float Scale, byte ZeroPoint) ActivationParams(string tensor)
    {
        string source = _plan.ScaleSource(tensor);
        if (!_calibration.Ranges.TryGetValue(source, out var range))
        {
            throw new InvalidOperationException($"tensor '{source}' was not calibrated");
        }
        float max = range.Max;
        if (_plan.Fusions.Values.FirstOrDefault(a => a.Output[0] == source) is { OpType: "Clip" } clip
            && QdqPlan.ClipBounds(_graph, clip) is (_, float clipMax))
        {
            max = Math.Min(max, clipMax);
        }
        return QuantMath.UInt8Params(range.Min, max);
    }

    private void InsertQdq(string tensor)
    {
        var (scale, zeroPoint) = ActivationParams(tensor);
        string scaleName = AddInitializer($"{tensor}_scale", TensorData.Scalar(scale));
        string zeroName = AddInitializer($"{tensor}_zero_point", TensorData.Scalar(zeroPoint));
        string quantized = _names.UniqueName($"{tensor}_quantized");
        string dequantized = _names.UniqueName($"{tensor}_dequantized");
        var q = _graph.AddNode("QuantizeLinear", [tensor, scaleName, zeroName], [quantized], _names.UniqueName($"{tensor}_QuantizeLinear"));
        var dq = _graph.AddNode("DequantizeLinear", [quantized, scaleName, zeroName], [dequantized], _names.UniqueName($"{tensor}_DequantizeLinear"));
        _graph.ReplaceUses(tensor, dequantized, use => !ReferenceEquals(use.Node, q) && !ReferenceEquals(use.Node, dq));
    }

    private void QuantizeWeightsAndBias(NodeProto node, NodeProto planned)
    {
        string weightName = node.Input[1];
        if (weightName.EndsWith("_dequantized", StringComparison.Ordinal) && _quantizedWeights.ContainsValue(weightName))
        {
            return;
        }
        var weight = _graph.GetInitializerData(weightName);
        var dims = weight.Dims;
        int axis = node.OpType switch
        {
            "Conv" => 0,
            "Gemm" => node.GetInt("transB") == 1 ? 0 : 1,
            _ => 1,
        };
        float[] values = weight.ToFloatArray();
        var (quantized, scales) = _perChannel
            ? QuantMath.Int8PerChannel(values, dims, axis, _reducedRange)
            : QuantMath.Int8PerChannel(values, [1, values.Length], 0, _reducedRange);
        if (!_quantizedWeights.TryGetValue(weightName, out var dequantizedWeight))
        {
            string q = AddInitializer($"{weightName}_quantized", TensorData.Create(quantized, [.. dims]));
            string s = AddInitializer($"{weightName}_scale", _perChannel ? TensorData.Create(scales, scales.Length) : TensorData.Scalar(scales[0]));
            string z = AddInitializer($"{weightName}_zero_point", _perChannel ? TensorData.Create(new sbyte[scales.Length], scales.Length) : TensorData.Scalar((sbyte)0));
            dequantizedWeight = _names.UniqueName($"{weightName}_dequantized");
            var dq = _graph.AddNode("DequantizeLinear", [q, s, z], [dequantizedWeight], _names.UniqueName($"{weightName}_DequantizeLinear"));
            if (_perChannel)
            {
                dq.SetInt("axis", axis);
            }
            _quantizedWeights[weightName] = dequantizedWeight;
        }
        node.Input[1] = dequantizedWeight;
        _graph.Invalidate();

        if (node.OpType is "Conv" or "Gemm")
        {
            QuantizeBias(node, planned, values, quantized, scales, dims, axis);
        }
    }

    private void QuantizeBias(NodeProto node, NodeProto planned, float[] weights, sbyte[] quantized, float[] scales, IReadOnlyList<long> dims, int axis)
    {
        int outputChannels = (int)dims[axis];
        float[]? bias = null;
        if (node.Input.Count > 2 && node.Input[2].Length > 0)
        {
            var biasTensor = _graph.FindInitializer(node.Input[2]);
            if (biasTensor is null || biasTensor.Dims.Count != 1 || biasTensor.Dims[0] != outputChannels)
            {
                return; // a computed or broadcast bias stays float
            }
            bias = _graph.GetInitializerData(node.Input[2]).ToFloatArray();
        }
        string input = planned.Input[0];
        if (_biasCorrection && _calibration.ChannelMeans.TryGetValue(input, out var means))
        {
            var shift = BiasShift(node, weights, quantized, scales, dims, axis, means);
            if (shift is not null)
            {
                bias ??= new float[outputChannels];
                for (int c = 0; c < outputChannels; c++)
                {
                    bias[c] += (float)shift[c];
                }
            }
        }
        if (bias is null)
        {
            return;
        }
        var (inputScale, _) = ActivationParams(input);
        var (biasQuantized, biasScales) = QuantMath.Int32Bias(bias, inputScale, scales);
        string name = node.Input.Count > 2 && node.Input[2].Length > 0 ? node.Input[2] : $"{node.Name}_bias";
        string q = AddInitializer($"{name}_quantized", TensorData.Create(biasQuantized, outputChannels));
        string s = AddInitializer($"{name}_scale", TensorData.Create(biasScales, outputChannels));
        string z = AddInitializer($"{name}_zero_point", TensorData.Create(new int[outputChannels], outputChannels));
        string dequantized = _names.UniqueName($"{name}_dequantized");
        _graph.AddNode("DequantizeLinear", [q, s, z], [dequantized], _names.UniqueName($"{name}_DequantizeLinear")).SetInt("axis", 0);
        while (node.Input.Count < 3)
        {
            node.Input.Add("");
        }
        node.Input[2] = dequantized;
        _graph.Invalidate();
    }

    /// <summary>
    /// Expected change of each output channel caused by weight rounding, E[x]·(W − Ŵ), from the mean of
    /// each input channel seen in calibration (bias correction, Nagel et al.).
    /// </summary>
    private double[]? BiasShift(NodeProto node, float[] weights, sbyte[] quantized, float[] scales, IReadOnlyList<long> dims, int axis, double[] means)
    {
        float[] restored = _perChannel ? QuantMath.Dequantize(quantized, scales, dims, axis) : QuantMath.Dequantize(quantized, scales, [1, weights.Length], 0);
        if (node.OpType == "Conv")
        {
            int outChannels = (int)dims[0], inPerGroup = (int)dims[1];
            long kernel = 1;
            for (int i = 2; i < dims.Count; i++)
            {
                kernel *= dims[i];
            }
            int groups = (int)node.GetInt("group", 1);
            if (means.Length != inPerGroup * groups || outChannels % groups != 0)
            {
                return null;
            }
            int outPerGroup = outChannels / groups;
            var shift = new double[outChannels];
            for (int o = 0; o < outChannels; o++)
            {
                int firstInput = o / outPerGroup * inPerGroup;
                for (int i = 0; i < inPerGroup; i++)
                {
                    long start = ((long)o * inPerGroup + i) * kernel;
                    double error = 0;
                    for (long k = 0; k < kernel; k++)
                    {
                        error += weights[start + k] - restored[start + k];
                    }
                    shift[o] += error * means[firstInput + i];
                }
            }
            return shift;
        }
        // Gemm: W is [K, N], or [N, K] with transB.
        bool transposed = axis == 0;
        int n = (int)dims[axis], k2 = (int)dims[1 - axis];
        if (means.Length != k2)
        {
            return null;
        }
        var gemmShift = new double[n];
        for (int row = 0; row < dims[0]; row++)
        {
            for (int col = 0; col < dims[1]; col++)
            {
                long index = (long)row * dims[1] + col;
                int output = transposed ? row : col, inputIndex = transposed ? col : row;
                gemmShift[output] += (weights[index] - restored[index]) * means[inputIndex];
            }
        }
        return gemmShift;
    }

    private string AddInitializer(string baseName, TensorData data)
    {
        string name = _names.UniqueName(baseName);
        _graph.AddInitializer(data.ToProto(name));
        return name;
    }
}
