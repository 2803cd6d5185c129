using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Distillation.Backward;
using EdgeRuntime.Onnx;
using EdgeRuntime.Tensors;
using Onnx;

namespace EdgeRuntime.Compression.Distillation;

/// <summary>
/// A model that also computes, in ONNX ops run by ONNX Runtime, the gradients of a squared error at one
/// tensor with respect to chosen weights. The weights become graph inputs so a training loop can feed
/// updated values each step without rebuilding the session.
/// </summary>
/// <param name="Model">Inputs: the original ones, <paramref name="TargetInput"/> and every parameter; outputs: the loss and one gradient per parameter.</param>
/// <param name="TargetInput">Input with the values the distilled tensor should take (same shape).</param>
/// <param name="LossOutput">The loss summed over the batch, a scalar.</param>
/// <param name="GradientOutputs">Parameter name to the output carrying the gradient of the loss with respect to the parameter (up to a constant factor, which Adam ignores).</param>
public sealed record BackwardGraph(OnnxModel Model, string TargetInput, string LossOutput, IReadOnlyDictionary<string, string> GradientOutputs);

public enum DistillationLossKind
{
    /// <summary>Sum of squared differences.</summary>
    SquaredError,

    /// <summary>Squared differences after removing their mean over the last axis: logits, whose common shift a softmax ignores.</summary>
    CenteredSquaredError,

    /// <summary>Cross-entropy to the teacher's temperature-softened softmax over the last axis (Hinton's soft targets).</summary>
    SoftTargets,
}

/// <summary>The distance a distillation minimises between the student's tensor and the teacher's.</summary>
public sealed record DistillationLoss(DistillationLossKind Kind, double Temperature = 1)
{
    public static DistillationLoss SquaredError { get; } = new(DistillationLossKind.SquaredError);
}

/// <summary>
/// Reverse-mode differentiation of an inference graph into ONNX ops, for the ops convolutional classifiers are
/// made of: Conv (any group, stride, dilation, padding), BatchNormalization (inference form), the usual
/// activations, broadcasting arithmetic, pooling, MatMul/Gemm and shape plumbing. Shapes are fixed by one
/// probe run, so every Reshape and Expand target is a constant. An op outside that set on the path from a
/// parameter to the loss is refused by name: the caller keeps the model as it was.
/// </summary>
public static class BackwardGraphBuilder
{
    /// <param name="model">The model to differentiate (left unchanged).</param>
    /// <param name="lossTensor">The tensor whose squared error against the target is minimised.</param>
    /// <param name="parameters">Float initializers to differentiate against; those that do not reach the loss are left out of the result.</param>
    /// <param name="shapes">Concrete shapes of the graph's float tensors at the batch size the graph will be run with.</param>
    /// <param name="objective">How the distance to the target is measured (squared error when null).</param>
    public static BackwardGraph Build(OnnxModel model, string lossTensor, IReadOnlyCollection<string> parameters, IReadOnlyDictionary<string, long[]> shapes, DistillationLoss? objective = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(lossTensor);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(shapes);
        var working = model.Clone();
        var builder = new Builder(working, shapes, objective ?? DistillationLoss.SquaredError);
        return builder.Build(lossTensor, parameters);
    }

    /// <summary>Builds the graph for batches shaped like <paramref name="exampleBatch"/>, whose shapes are probed by running it once.</summary>
    public static BackwardGraph Build(OnnxModel model, string lossTensor, IReadOnlyCollection<string> parameters, IReadOnlyList<NamedTensor> exampleBatch, DistillationLoss? objective = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(exampleBatch);
        var path = PathNodes(model.Graph, lossTensor, parameters);
        return Build(model, lossTensor, parameters, ProbeShapes(model, exampleBatch, path.SelectMany(ShapeTensors)), objective);
    }

    /// <summary>Ops the builder differentiates: those with a rule in <see cref="GradientRules"/>.</summary>
    public static IReadOnlySet<string> SupportedOps { get; } = GradientRules.ByOpType.Keys.ToHashSet(StringComparer.Ordinal);

    /// <summary>Tensors whose shapes the builder reads: each differentiated node's data inputs and first output.</summary>
    public static IEnumerable<string> ShapeTensors(NodeProto node)
    {
        ArgumentNullException.ThrowIfNull(node);
        yield return node.Output[0];
        var slots = GradientRules.ByOpType.TryGetValue(node.OpType, out var op) ? op.DataSlots(node) : [0];
        foreach (int slot in slots)
        {
            if (slot < node.Input.Count && node.Input[slot].Length > 0)
            {
                yield return node.Input[slot];
            }
        }
    }

    private static Dictionary<string, long[]> ProbeShapes(OnnxModel model, IReadOnlyList<NamedTensor> inputs, IEnumerable<string> tensors)
    {
        var probe = model.Clone();
        var graph = probe.Graph;
        var wanted = tensors.Where(t => graph.FindInitializer(t) is null && !graph.IsGraphInput(t)).ToHashSet(StringComparer.Ordinal);
        graph.Outputs.Clear();
        foreach (string name in wanted)
        {
            graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape(name, OnnxDataType.Float));
        }
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var input in inputs)
        {
            shapes[input.Name] = input.Shape;
        }
        if (wanted.Count == 0)
        {
            return shapes;
        }
        using var scratch = ScratchRuntime.Open(probe);
        foreach (var output in scratch.Runtime.Run(inputs).Outputs)
        {
            shapes[output.Name] = output.Shape;
        }
        return shapes;
    }

    /// <summary>The nodes between the parameters and the loss tensor, in graph order.</summary>
    public static IReadOnlyList<NodeProto> PathNodes(OnnxGraph graph, string lossTensor, IReadOnlyCollection<string> parameters)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var order = graph.TopologicalOrder();
        var forward = new HashSet<string>(parameters, StringComparer.Ordinal);
        var reached = new List<NodeProto>();
        foreach (var node in order)
        {
            if (node.Input.Any(forward.Contains) && !IsNonDifferentiable(node))
            {
                reached.Add(node);
                foreach (string output in node.Output)
                {
                    forward.Add(output);
                }
            }
        }
        var backward = new HashSet<string>(StringComparer.Ordinal) { lossTensor };
        var path = new List<NodeProto>();
        for (int i = reached.Count - 1; i >= 0; i--)
        {
            if (reached[i].Output.Any(backward.Contains))
            {
                path.Add(reached[i]);
                foreach (string input in reached[i].Input.Where(forward.Contains))
                {
                    backward.Add(input);
                }
            }
        }
        path.Reverse();
        return path;
    }

    // Shape, size and comparison results carry no gradient; they end the path rather than break it.
    private static bool IsNonDifferentiable(NodeProto node) =>
        node.OpType is "Shape" or "Size" or "Equal" or "Greater" or "Less" or "GreaterOrEqual" or "LessOrEqual" or "ArgMax" or "ArgMin" or "NonZero";

    private sealed class Builder(OnnxModel model, IReadOnlyDictionary<string, long[]> shapes, DistillationLoss objective)
    {
        private readonly GradientContext _g = new(model, shapes);
        private OnnxGraph Graph => _g.Graph;

        public BackwardGraph Build(string lossTensor, IReadOnlyCollection<string> parameters)
        {
            if (Graph.GetProducer(lossTensor) is null)
            {
                throw new ArgumentException($"the model has no tensor '{lossTensor}' computed by a node to distil");
            }
            foreach (string parameter in parameters)
            {
                if (Graph.FindInitializer(parameter) is not { } tensor || (OnnxDataType)tensor.DataType != OnnxDataType.Float)
                {
                    throw new ArgumentException($"parameter '{parameter}' is not a float32 initializer");
                }
            }
            var path = PathNodes(Graph, lossTensor, parameters);
            foreach (var node in path.Where(n => !SupportedOps.Contains(n.OpType)))
            {
                throw new NotSupportedException($"no gradient for {GraphNodes.Describe(node)}: op {node.OpType} is not differentiated here");
            }
            _g.NeedsGradient.UnionWith(parameters);
            foreach (var node in path)
            {
                _g.NeedsGradient.UnionWith(node.Output);
            }

            string target = Graph.UniqueName($"{lossTensor}_target");
            Graph.Inputs.Add(OnnxValueInfo.CreateTensor(target, OnnxDataType.Float, [.. _g.Shape(lossTensor).Select(d => (OnnxDim)d)]));
            string loss = Graph.UniqueName("distillation_loss");
            _g.AddGradient(lossTensor, Objective(lossTensor, target, loss));
            Graph.Outputs.Clear();
            Graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape(loss, OnnxDataType.Float));

            for (int i = path.Count - 1; i >= 0; i--)
            {
                var node = path[i];
                if (_g.HasGradient(node.Output[0]))
                {
                    GradientRules.ByOpType[node.OpType].Differentiate(node, _g.Gradient(node.Output[0]), _g);
                }
            }

            var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string parameter in parameters)
            {
                if (!_g.HasGradient(parameter))
                {
                    continue;
                }
                var data = Graph.GetInitializerData(parameter);
                string output = Graph.UniqueName($"{parameter}_gradient");
                Graph.AddNode("Identity", [_g.Gradient(parameter)], [output], _g.Fresh());
                Graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape(output, OnnxDataType.Float));
                Graph.RemoveInitializer(parameter);
                Graph.Inputs.Add(OnnxValueInfo.CreateTensor(parameter, OnnxDataType.Float, [.. data.Dims.Select(d => (OnnxDim)d)]));
                outputs[parameter] = output;
            }
            if (outputs.Count == 0)
            {
                throw new NotSupportedException($"none of the {parameters.Count} weights reaches '{lossTensor}'");
            }
            Graph.SortTopologically();
            return new BackwardGraph(model, target, loss, outputs);
        }

        // Emits the loss (summed over the batch) into lossName; returns its gradient with respect to the student's tensor.
        private string Objective(string student, string teacher, string lossName)
        {
            if (objective.Kind == DistillationLossKind.SoftTargets)
            {
                // Temperature-softened cross-entropy to the teacher (KL divergence); its gradient is p_student - p_teacher.
                string Soft(string logits, string op) =>
                    _g.EmitNode(GraphNodes.Create(op, [_g.Emit("Mul", [logits, _g.Scalar((float)(1 / objective.Temperature))])], [_g.Fresh()]).SetInt("axis", -1));
                string teacherLog = Soft(teacher, "LogSoftmax"), studentLog = Soft(student, "LogSoftmax");
                string teacherProbability = _g.Emit("Exp", [teacherLog]);
                string divergence = _g.Emit("Mul", [teacherProbability, _g.Emit("Sub", [teacherLog, studentLog])]);
                Graph.AddNode(GraphNodes.Create("ReduceSum", [divergence], [lossName], _g.Fresh()).SetInt("keepdims", 0));
                return _g.Emit("Sub", [_g.Emit("Exp", [studentLog]), teacherProbability]);
            }
            string difference = _g.Emit("Sub", [student, teacher]);
            if (objective.Kind == DistillationLossKind.CenteredSquaredError)
            {
                // Softmax ignores a shift shared by all classes, so the error does not count it.
                var mean = _g.Opset >= 18
                    ? GraphNodes.Create("ReduceMean", [difference, _g.Int64s([-1])], [_g.Fresh()])
                    : GraphNodes.Create("ReduceMean", [difference], [_g.Fresh()]).SetInts("axes", [-1]);
                difference = _g.Emit("Sub", [difference, _g.EmitNode(mean.SetInt("keepdims", 1))]);
            }
            Graph.AddNode(GraphNodes.Create("ReduceSumSquare", [difference], [lossName], _g.Fresh()).SetInt("keepdims", 0));
            return difference;
        }
    }
}
