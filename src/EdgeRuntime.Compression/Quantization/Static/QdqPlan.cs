using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Quantization.Static;

/// <summary>
/// Which nodes of a graph get int8 kernels and which tensors get a QuantizeLinear/DequantizeLinear
/// pair, laid out the way ONNX Runtime's QDQ fusion expects: every quantized compute node has DQ on its
/// inputs and Q on its output, a following Relu is folded into that Q, and data-movement ops
/// (Reshape, MaxPool, ...) reuse their input's scale so the chain stays in integers.
/// </summary>
internal sealed class QdqPlan
{
    private static readonly HashSet<string> WeightOps = ["Conv", "Gemm", "MatMul"];
    private static readonly HashSet<string> PoolOps = ["AveragePool", "GlobalAveragePool"];
    private static readonly HashSet<string> BinaryOps = ["Add", "Mul"];
    private static readonly HashSet<string> PassThroughOps = ["MaxPool", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze"];

    private QdqPlan(IReadOnlyList<NodeProto> nodes, IReadOnlyDictionary<string, NodeProto> fusions,
        IReadOnlySet<string> calibrated, IReadOnlyDictionary<string, string> shared)
    {
        Nodes = nodes;
        Fusions = fusions;
        Calibrated = calibrated;
        Shared = shared;
    }

    /// <summary>Compute nodes that get integer kernels.</summary>
    public IReadOnlyList<NodeProto> Nodes { get; }

    /// <summary>Producer node name → the Relu/Clip after it, folded into the producer's output Q.</summary>
    public IReadOnlyDictionary<string, NodeProto> Fusions { get; }

    /// <summary>Tensors with their own calibrated scale.</summary>
    public IReadOnlySet<string> Calibrated { get; }

    /// <summary>Tensors that reuse another tensor's scale (output of Reshape, MaxPool, ... → its input).</summary>
    public IReadOnlyDictionary<string, string> Shared { get; }

    public IEnumerable<string> QuantizedTensors => Calibrated.Concat(Shared.Keys);

    /// <summary>The tensor whose scale <paramref name="tensor"/> uses.</summary>
    public string ScaleSource(string tensor) => Shared.TryGetValue(tensor, out var source) ? source : tensor;

    /// <summary>Nodes that could be quantized: float compute with constant weights or float activations only.</summary>
    /// <param name="outerConstants">Initializers of enclosing graphs that a body reads: constants, not activations.</param>
    public static IReadOnlyList<NodeProto> Candidates(OnnxGraph graph, IReadOnlyDictionary<string, OnnxDataType> types, IReadOnlyCollection<string> exclude, List<string> warnings,
        IReadOnlySet<string>? outerConstants = null)
    {
        bool Act(string name) => IsActivation(graph, types, name) && outerConstants?.Contains(name) != true;
        var candidates = new List<NodeProto>();
        foreach (var node in graph.Nodes)
        {
            if (node.Domain is not ("" or "ai.onnx") || exclude.Contains(node.Name) || exclude.Contains(node.OpType))
            {
                continue;
            }
            bool eligible = node.OpType switch
            {
                "Conv" => Act(node.Input[0]) && IsFloatWeight(graph, node.Input[1], minRank: 3),
                "Gemm" => Act(node.Input[0]) && IsFloatWeight(graph, node.Input[1], minRank: 2)
                    && node.GetFloat("alpha", 1f) == 1f && node.GetFloat("beta", 1f) == 1f && node.GetInt("transA") == 0,
                "MatMul" => Act(node.Input[0])
                    && (IsFloatWeight(graph, node.Input[1], minRank: 2, maxRank: 2) || Act(node.Input[1])),
                "Add" or "Mul" => node.Input.Count == 2 && node.Input.All(i => Act(i)),
                "AveragePool" or "GlobalAveragePool" => Act(node.Input[0]),
                _ => false,
            };
            if (eligible)
            {
                candidates.Add(node);
            }
            else if (WeightOps.Contains(node.OpType) && !exclude.Contains(node.Name))
            {
                warnings.Add($"{node.OpType} '{node.Name}' stays float: its inputs are not a float activation with constant float weights");
            }
        }
        return candidates;
    }

    public static QdqPlan Create(OnnxGraph graph, IReadOnlyDictionary<string, OnnxDataType> types, IReadOnlyCollection<NodeProto> selected)
    {
        var marked = new HashSet<string>();
        var fusions = new Dictionary<string, NodeProto>();
        foreach (var node in selected)
        {
            foreach (string input in ActivationInputs(graph, node))
            {
                marked.Add(input);
            }
            string output = node.Output[0];
            if (node.OpType is "Conv" or "Gemm" or "MatMul" or "Add" && FoldableActivation(graph, output) is { } activation)
            {
                fusions[node.Name] = activation;
                output = activation.Output[0];
            }
            if (HasNodeConsumers(graph, output))
            {
                marked.Add(output);
            }
        }
        // Relu outputs of quantized producers that were not folded keep the chain in integers too.
        foreach (var node in graph.Nodes.Where(n => n.OpType == "Relu" && marked.Contains(n.Input[0]) && HasNodeConsumers(graph, n.Output[0])))
        {
            marked.Add(node.Output[0]);
        }
        var shared = new Dictionary<string, string>();
        foreach (var node in graph.TopologicalOrder())
        {
            if (!PassThroughOps.Contains(node.OpType) || node.Input.Count == 0 || node.Output.Count == 0)
            {
                continue;
            }
            string input = node.Input[0], output = node.Output[0];
            bool inputQuantized = marked.Contains(input) || shared.ContainsKey(input);
            if (inputQuantized && types.GetValueOrDefault(output) == OnnxDataType.Float && HasNodeConsumers(graph, output) && !graph.IsGraphOutput(output))
            {
                shared[output] = shared.TryGetValue(input, out var root) ? root : input;
                marked.Remove(output);
            }
        }
        return new QdqPlan([.. selected], fusions, marked, shared);
    }

    /// <summary>The float activation inputs a node's integer kernel reads.</summary>
    public static IEnumerable<string> ActivationInputs(OnnxGraph graph, NodeProto node) => node.OpType switch
    {
        "Conv" or "Gemm" => [node.Input[0]],
        "MatMul" => graph.IsInitializer(node.Input[1]) ? [node.Input[0]] : [node.Input[0], node.Input[1]],
        _ when BinaryOps.Contains(node.OpType) => [.. node.Input],
        _ when PoolOps.Contains(node.OpType) => [node.Input[0]],
        _ => [],
    };

    /// <summary>A Relu, or a Clip from 0, that is the only reader of <paramref name="tensor"/>.</summary>
    private static NodeProto? FoldableActivation(OnnxGraph graph, string tensor)
    {
        if (graph.IsGraphOutput(tensor))
        {
            return null;
        }
        var consumers = graph.GetConsumers(tensor);
        if (consumers.Count != 1)
        {
            return null;
        }
        var consumer = consumers[0];
        // Folding removes the activation: only sound when its output gets the Q that clamps in its place.
        if (consumer.Output.Count == 0 || graph.IsGraphOutput(consumer.Output[0]) || !HasNodeConsumers(graph, consumer.Output[0]))
        {
            return null;
        }
        if (consumer.OpType == "Relu")
        {
            return consumer;
        }
        if (consumer.OpType == "Clip" && ClipBounds(graph, consumer) is (0f, _))
        {
            return consumer;
        }
        return null;
    }

    /// <summary>Clip's bounds from attributes (opset &lt; 11) or constant inputs; null when not constant.</summary>
    public static (float Min, float Max)? ClipBounds(OnnxGraph graph, NodeProto clip)
    {
        if (clip.HasAttribute("min") || clip.HasAttribute("max"))
        {
            return (clip.GetFloat("min", float.MinValue), clip.GetFloat("max", float.MaxValue));
        }
        float? Bound(int index)
        {
            if (clip.Input.Count <= index || clip.Input[index].Length == 0)
            {
                return null;
            }
            return graph.IsInitializer(clip.Input[index]) ? graph.GetInitializerData(clip.Input[index]).ToFloatArray()[0] : float.NaN;
        }
        float? min = Bound(1), max = Bound(2);
        if (min is float.NaN || max is float.NaN)
        {
            return null;
        }
        return (min ?? float.MinValue, max ?? float.MaxValue);
    }

    private static bool IsActivation(OnnxGraph graph, IReadOnlyDictionary<string, OnnxDataType> types, string name) =>
        name.Length > 0
        && !graph.IsInitializer(name)
        && types.GetValueOrDefault(name) == OnnxDataType.Float
        && graph.GetProducer(name) is not { OpType: "Constant" };

    private static bool IsFloatWeight(OnnxGraph graph, string name, int minRank, int maxRank = 8) =>
        graph.FindInitializer(name) is { } weight
        && (OnnxDataType)weight.DataType == OnnxDataType.Float
        && weight.Dims.Count >= minRank && weight.Dims.Count <= maxRank;

    private static bool HasNodeConsumers(OnnxGraph graph, string tensor) => graph.GetConsumers(tensor).Count > 0;
}
