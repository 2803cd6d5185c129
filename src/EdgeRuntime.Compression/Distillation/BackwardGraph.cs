using EdgeRuntime.Compression.Calibration;
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

    /// <summary>Ops the builder differentiates.</summary>
    public static IReadOnlySet<string> SupportedOps { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "Conv", "BatchNormalization", "Relu", "LeakyRelu", "Clip", "HardSigmoid", "HardSwish", "Sigmoid", "Tanh",
        "Add", "Sub", "Mul", "Div", "MatMul", "Gemm", "GlobalAveragePool", "MaxPool", "Reshape", "Flatten",
        "Squeeze", "Unsqueeze", "Identity", "Dropout", "Concat", "Transpose",
    };

    /// <summary>Tensors whose shapes the builder reads: each differentiated node's data inputs and first output.</summary>
    public static IEnumerable<string> ShapeTensors(NodeProto node)
    {
        ArgumentNullException.ThrowIfNull(node);
        yield return node.Output[0];
        foreach (int slot in DataSlots(node))
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

    private static IEnumerable<int> DataSlots(NodeProto node) => node.OpType switch
    {
        "Add" or "Sub" or "Mul" or "Div" or "MatMul" => [0, 1],
        "Gemm" => [0, 1, 2],
        "Concat" => Enumerable.Range(0, node.Input.Count),
        _ => [0],
    };

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
        private readonly OnnxGraph _graph = model.Graph;
        private readonly long _opset = model.OpsetFor("") ?? OnnxModel.DefaultOpsetVersion;
        private readonly Dictionary<string, List<string>> _gradientParts = new(StringComparer.Ordinal);
        private readonly HashSet<string> _needsGradient = new(StringComparer.Ordinal);
        private readonly Dictionary<float, string> _scalars = [];
        private readonly string _prefix = model.Graph.UniqueName("edgert_grad");
        private int _counter;

        public BackwardGraph Build(string lossTensor, IReadOnlyCollection<string> parameters)
        {
            if (_graph.GetProducer(lossTensor) is null)
            {
                throw new ArgumentException($"the model has no tensor '{lossTensor}' computed by a node to distil");
            }
            foreach (string parameter in parameters)
            {
                if (_graph.FindInitializer(parameter) is not { } tensor || (OnnxDataType)tensor.DataType != OnnxDataType.Float)
                {
                    throw new ArgumentException($"parameter '{parameter}' is not a float32 initializer");
                }
            }
            var path = PathNodes(_graph, lossTensor, parameters);
            foreach (var node in path.Where(n => !SupportedOps.Contains(n.OpType)))
            {
                throw new NotSupportedException($"no gradient for {GraphNodes.Describe(node)}: op {node.OpType} is not differentiated here");
            }
            _needsGradient.UnionWith(parameters);
            foreach (var node in path)
            {
                _needsGradient.UnionWith(node.Output);
            }

            string target = _graph.UniqueName($"{lossTensor}_target");
            _graph.Inputs.Add(OnnxValueInfo.CreateTensor(target, OnnxDataType.Float, [.. Shape(lossTensor).Select(d => (OnnxDim)d)]));
            string loss = _graph.UniqueName("distillation_loss");
            AddGradient(lossTensor, Objective(lossTensor, target, loss));
            _graph.Outputs.Clear();
            _graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape(loss, OnnxDataType.Float));

            for (int i = path.Count - 1; i >= 0; i--)
            {
                var node = path[i];
                if (!_gradientParts.ContainsKey(node.Output[0]))
                {
                    continue;
                }
                Differentiate(node, Gradient(node.Output[0]));
            }

            var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string parameter in parameters)
            {
                if (!_gradientParts.ContainsKey(parameter))
                {
                    continue;
                }
                var data = _graph.GetInitializerData(parameter);
                string output = _graph.UniqueName($"{parameter}_gradient");
                _graph.AddNode("Identity", [Gradient(parameter)], [output], Fresh());
                _graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape(output, OnnxDataType.Float));
                _graph.RemoveInitializer(parameter);
                _graph.Inputs.Add(OnnxValueInfo.CreateTensor(parameter, OnnxDataType.Float, [.. data.Dims.Select(d => (OnnxDim)d)]));
                outputs[parameter] = output;
            }
            if (outputs.Count == 0)
            {
                throw new NotSupportedException($"none of the {parameters.Count} weights reaches '{lossTensor}'");
            }
            _graph.SortTopologically();
            return new BackwardGraph(model, target, loss, outputs);
        }

        // Emits the loss (summed over the batch) into lossName; returns its gradient with respect to the student's tensor.
        private string Objective(string student, string teacher, string lossName)
        {
            if (objective.Kind == DistillationLossKind.SoftTargets)
            {
                // Temperature-softened cross-entropy to the teacher (KL divergence); its gradient is p_student - p_teacher.
                string Soft(string logits, string op) =>
                    EmitNode(GraphNodes.Create(op, [Emit("Mul", [logits, Scalar((float)(1 / objective.Temperature))])], [Fresh()]).SetInt("axis", -1));
                string teacherLog = Soft(teacher, "LogSoftmax"), studentLog = Soft(student, "LogSoftmax");
                string teacherProbability = Emit("Exp", [teacherLog]);
                string divergence = Emit("Mul", [teacherProbability, Emit("Sub", [teacherLog, studentLog])]);
                _graph.AddNode(GraphNodes.Create("ReduceSum", [divergence], [lossName], Fresh()).SetInt("keepdims", 0));
                return Emit("Sub", [Emit("Exp", [studentLog]), teacherProbability]);
            }
            string difference = Emit("Sub", [student, teacher]);
            if (objective.Kind == DistillationLossKind.CenteredSquaredError)
            {
                // Softmax ignores a shift shared by all classes, so the error does not count it.
                var mean = _opset >= 18
                    ? GraphNodes.Create("ReduceMean", [difference, Int64s([-1])], [Fresh()])
                    : GraphNodes.Create("ReduceMean", [difference], [Fresh()]).SetInts("axes", [-1]);
                difference = Emit("Sub", [difference, EmitNode(mean.SetInt("keepdims", 1))]);
            }
            _graph.AddNode(GraphNodes.Create("ReduceSumSquare", [difference], [lossName], Fresh()).SetInt("keepdims", 0));
            return difference;
        }

        private void Differentiate(NodeProto node, string dy)
        {
            switch (node.OpType)
            {
                case "Conv":
                    Conv(node, dy);
                    break;
                case "BatchNormalization":
                    BatchNorm(node, dy);
                    break;
                case "Relu":
                    Pass(node, 0, Emit("Mul", [dy, Mask("Greater", node.Input[0], Scalar(0f))]));
                    break;
                case "LeakyRelu":
                    {
                        float alpha = node.GetFloat("alpha", 0.01f);
                        string slope = Emit("Where", [Emit("Greater", [node.Input[0], Scalar(0f)]), Scalar(1f), Scalar(alpha)]);
                        Pass(node, 0, Emit("Mul", [dy, slope]));
                        break;
                    }
                case "Clip":
                    Clip(node, dy);
                    break;
                case "HardSigmoid":
                    {
                        float alpha = node.GetFloat("alpha", 0.2f), beta = node.GetFloat("beta", 0.5f);
                        string z = Emit("Add", [Emit("Mul", [node.Input[0], Scalar(alpha)]), Scalar(beta)]);
                        string inside = Emit("Mul", [Mask("Greater", z, Scalar(0f)), Mask("Less", z, Scalar(1f))]);
                        Pass(node, 0, Emit("Mul", [dy, Emit("Mul", [inside, Scalar(alpha)])]));
                        break;
                    }
                case "HardSwish":
                    {
                        // d/dx x*relu6(x+3)/6 = (2x+3)/6 inside (-3, 3), 1 above, 0 below.
                        string x = node.Input[0];
                        string slope = Emit("Add", [Emit("Mul", [x, Scalar(1f / 3)]), Scalar(0.5f)]);
                        slope = Emit("Where", [Emit("Greater", [x, Scalar(3f)]), Scalar(1f), slope]);
                        slope = Emit("Where", [Emit("Less", [x, Scalar(-3f)]), Scalar(0f), slope]);
                        Pass(node, 0, Emit("Mul", [dy, slope]));
                        break;
                    }
                case "Sigmoid":
                    {
                        string y = node.Output[0];
                        Pass(node, 0, Emit("Mul", [dy, Emit("Mul", [y, Emit("Sub", [Scalar(1f), y])])]));
                        break;
                    }
                case "Tanh":
                    {
                        string y = node.Output[0];
                        Pass(node, 0, Emit("Mul", [dy, Emit("Sub", [Scalar(1f), Emit("Mul", [y, y])])]));
                        break;
                    }
                case "Add":
                    for (int slot = 0; slot < 2; slot++)
                    {
                        if (Wants(node, slot))
                        {
                            Pass(node, slot, Unbroadcast(dy, node.Output[0], node.Input[slot]));
                        }
                    }
                    break;
                case "Sub":
                    if (Wants(node, 0))
                    {
                        Pass(node, 0, Unbroadcast(dy, node.Output[0], node.Input[0]));
                    }
                    if (Wants(node, 1))
                    {
                        Pass(node, 1, Unbroadcast(Emit("Neg", [dy]), node.Output[0], node.Input[1]));
                    }
                    break;
                case "Mul":
                    if (Wants(node, 0))
                    {
                        Pass(node, 0, Unbroadcast(Emit("Mul", [dy, node.Input[1]]), node.Output[0], node.Input[0]));
                    }
                    if (Wants(node, 1))
                    {
                        Pass(node, 1, Unbroadcast(Emit("Mul", [dy, node.Input[0]]), node.Output[0], node.Input[1]));
                    }
                    break;
                case "Div":
                    if (Wants(node, 0))
                    {
                        Pass(node, 0, Unbroadcast(Emit("Div", [dy, node.Input[1]]), node.Output[0], node.Input[0]));
                    }
                    if (Wants(node, 1))
                    {
                        // d(a/b)/db = -y/b.
                        string term = Emit("Neg", [Emit("Div", [Emit("Mul", [dy, node.Output[0]]), node.Input[1]])]);
                        Pass(node, 1, Unbroadcast(term, node.Output[0], node.Input[1]));
                    }
                    break;
                case "MatMul":
                    MatMul(node, dy);
                    break;
                case "Gemm":
                    Gemm(node, dy);
                    break;
                case "GlobalAveragePool":
                    {
                        long[] inputShape = Shape(node.Input[0]);
                        float area = TensorShapes.Product(inputShape, 2, inputShape.Length);
                        string spread = Emit("Expand", [dy, Int64s(inputShape)]);
                        Pass(node, 0, Emit("Mul", [spread, Scalar(1f / area)]));
                        break;
                    }
                case "MaxPool":
                    MaxPool(node, dy);
                    break;
                case "Reshape" or "Flatten" or "Squeeze" or "Unsqueeze":
                    Pass(node, 0, Reshape(dy, Shape(node.Input[0])));
                    break;
                case "Identity" or "Dropout":
                    Pass(node, 0, dy);
                    break;
                case "Concat":
                    Concat(node, dy);
                    break;
                case "Transpose":
                    {
                        long[] perm = node.GetInts("perm") is { Length: > 0 } p ? p : [.. Enumerable.Range(0, Shape(node.Input[0]).Length).Reverse().Select(i => (long)i)];
                        var inverse = new long[perm.Length];
                        for (int i = 0; i < perm.Length; i++)
                        {
                            inverse[perm[i]] = i;
                        }
                        Pass(node, 0, EmitNode(GraphNodes.Create("Transpose", [dy], [Fresh()]).SetInts("perm", inverse)));
                        break;
                    }
                default:
                    throw new NotSupportedException($"no gradient for {GraphNodes.Describe(node)}");
            }
        }

        private void Conv(NodeProto node, string dy)
        {
            string x = node.Input[0], w = node.Input[1];
            long[] xShape = Shape(x), wShape = Shape(w), yShape = Shape(node.Output[0]);
            int spatial = xShape.Length - 2;
            long group = node.GetInt("group", 1);
            long[] kernel = wShape[2..];
            long[] strides = node.GetInts("strides", Ones(spatial));
            long[] dilations = node.GetInts("dilations", Ones(spatial));
            long[] pads = ConvPads(node, xShape, kernel, strides, dilations);

            if (Wants(node, 0))
            {
                var outputPadding = new long[spatial];
                for (int i = 0; i < spatial; i++)
                {
                    long effective = dilations[i] * (kernel[i] - 1) + 1;
                    outputPadding[i] = (xShape[i + 2] + pads[i] + pads[i + spatial] - effective) % strides[i];
                }
                var transposed = GraphNodes.Create("ConvTranspose", [dy, w], [Fresh()])
                    .SetInt("group", group).SetInts("strides", strides).SetInts("dilations", dilations)
                    .SetInts("pads", pads).SetInts("kernel_shape", kernel).SetInts("output_padding", outputPadding);
                Pass(node, 0, EmitNode(transposed));
            }
            if (Wants(node, 1))
            {
                Pass(node, 1, ConvWeightGradient(x, dy, xShape, wShape, yShape, group, strides, dilations, pads));
            }
            if (node.Input.Count > 2 && Wants(node, 2))
            {
                Pass(node, 2, ReduceSum(dy, [0, .. Enumerable.Range(2, spatial)], keepDims: false));
            }
        }

        private string ConvWeightGradient(string x, string dy, long[] xShape, long[] wShape, long[] yShape, long group, long[] strides, long[] dilations, long[] pads)
        {
            int spatial = xShape.Length - 2;
            long batch = xShape[0], outputs = wShape[0], inputsPerGroup = wShape[1], outputsPerGroup = outputs / group;
            long[] xSpatial = xShape[2..], ySpatial = yShape[2..], kernel = wShape[2..];
            bool pointwise = group == 1 && kernel.All(k => k == 1) && strides.All(s => s == 1) && pads.All(p => p == 0);
            if (pointwise)
            {
                // dW = sum over the batch of dY (out x pixels) times X^T (pixels x in): batched GEMM, then the batch summed.
                long pixels = TensorShapes.Product(xSpatial, 0, spatial);
                string dyFlat = Reshape(dy, [batch, outputs, pixels]);
                string xFlat = EmitNode(GraphNodes.Create("Transpose", [Reshape(x, [batch, inputsPerGroup, pixels])], [Fresh()]).SetInts("perm", [0, 2, 1]));
                string perSample = Emit("MatMul", [dyFlat, xFlat]);
                return Reshape(ReduceSum(perSample, [0], keepDims: false), wShape);
            }

            // A convolution of the input with the output gradient as kernel: the batch becomes the reduced
            // channel axis (grouped by the layer's groups), the layer's input channels become the batch,
            // and stride and dilation swap roles.
            long[] spatialPerm = [.. Enumerable.Range(3, spatial).Select(i => (long)i)];
            string xGrouped = Reshape(x, [batch, group, inputsPerGroup, .. xSpatial]);
            string xT = EmitNode(GraphNodes.Create("Transpose", [xGrouped], [Fresh()]).SetInts("perm", [2, 1, 0, .. spatialPerm]));
            string xAsBatch = Reshape(xT, [inputsPerGroup, group * batch, .. xSpatial]);
            string dyGrouped = Reshape(dy, [batch, group, outputsPerGroup, .. ySpatial]);
            string dyT = EmitNode(GraphNodes.Create("Transpose", [dyGrouped], [Fresh()]).SetInts("perm", [1, 2, 0, .. spatialPerm]));
            string dyAsKernel = Reshape(dyT, [outputs, batch, .. ySpatial]);
            var correlation = GraphNodes.Create("Conv", [xAsBatch, dyAsKernel], [Fresh()])
                .SetInt("group", group).SetInts("strides", dilations).SetInts("dilations", strides)
                .SetInts("pads", pads).SetInts("kernel_shape", ySpatial);
            string full = EmitNode(correlation);
            var resultSpatial = new long[spatial];
            for (int i = 0; i < spatial; i++)
            {
                long padded = xSpatial[i] + pads[i] + pads[i + spatial];
                resultSpatial[i] = ((padded - ((ySpatial[i] - 1) * strides[i] + 1)) / dilations[i]) + 1;
            }
            if (!resultSpatial.SequenceEqual(kernel))
            {
                full = Slice(full, Zeros(spatial), kernel, [.. Enumerable.Range(2, spatial).Select(i => (long)i)]);
            }
            return EmitNode(GraphNodes.Create("Transpose", [full], [Fresh()]).SetInts("perm", [1, 0, .. Enumerable.Range(2, spatial).Select(i => (long)i)]));
        }

        private long[] ConvPads(NodeProto node, long[] xShape, long[] kernel, long[] strides, long[] dilations)
        {
            int spatial = xShape.Length - 2;
            string autoPad = node.GetString("auto_pad", "NOTSET");
            if (autoPad is "NOTSET" or "")
            {
                return node.GetInts("pads", Zeros(2 * spatial));
            }
            if (autoPad == "VALID")
            {
                return Zeros(2 * spatial);
            }
            var pads = new long[2 * spatial];
            for (int i = 0; i < spatial; i++)
            {
                long size = xShape[i + 2], effective = dilations[i] * (kernel[i] - 1) + 1;
                long output = (size + strides[i] - 1) / strides[i];
                long total = Math.Max(0, (output - 1) * strides[i] + effective - size);
                long small = total / 2, large = total - small;
                (pads[i], pads[i + spatial]) = autoPad == "SAME_LOWER" ? (large, small) : (small, large);
            }
            return pads;
        }

        private void BatchNorm(NodeProto node, string dy)
        {
            if (node.Output.Count > 1 && node.Output.Skip(1).Any(o => o.Length > 0) || node.GetInt("training_mode") != 0)
            {
                throw new NotSupportedException($"{GraphNodes.Describe(node)} runs in training mode; only the inference form is differentiated");
            }
            string x = node.Input[0], scale = node.Input[1];
            var mean = _graph.FindInitializer(node.Input[3]);
            var variance = _graph.FindInitializer(node.Input[4]);
            if (mean is null || variance is null || Wants(node, 3) || Wants(node, 4))
            {
                throw new NotSupportedException($"{GraphNodes.Describe(node)}: its mean and variance must be constant");
            }
            float epsilon = node.GetFloat("epsilon", 1e-5f);
            float[] meanValues = _graph.GetInitializerData(node.Input[3]).ToFloatArray();
            float[] inverseStd = [.. _graph.GetInitializerData(node.Input[4]).ToFloatArray().Select(v => 1f / MathF.Sqrt(v + epsilon))];
            long[] xShape = Shape(x);
            long[] channelShape = [1, xShape[1], .. Ones(xShape.Length - 2)];
            string inverse = Floats(inverseStd, channelShape);
            if (Wants(node, 0))
            {
                Pass(node, 0, Emit("Mul", [dy, Emit("Mul", [Reshape(scale, channelShape), inverse])]));
            }
            int[] reduced = [0, .. Enumerable.Range(2, xShape.Length - 2)];
            if (Wants(node, 1))
            {
                string normalized = Emit("Mul", [Emit("Sub", [x, Floats(meanValues, channelShape)]), inverse]);
                Pass(node, 1, ReduceSum(Emit("Mul", [dy, normalized]), reduced, keepDims: false));
            }
            if (Wants(node, 2))
            {
                Pass(node, 2, ReduceSum(dy, reduced, keepDims: false));
            }
        }

        private void Clip(NodeProto node, string dy)
        {
            string x = node.Input[0];
            string? min, max;
            if (_opset < 11)
            {
                min = node.HasAttribute("min") ? Scalar(node.GetFloat("min")) : null;
                max = node.HasAttribute("max") ? Scalar(node.GetFloat("max")) : null;
            }
            else
            {
                min = node.Input.Count > 1 && node.Input[1].Length > 0 ? node.Input[1] : null;
                max = node.Input.Count > 2 && node.Input[2].Length > 0 ? node.Input[2] : null;
            }
            string grad = dy;
            if (min is not null)
            {
                grad = Emit("Mul", [grad, Mask("Greater", x, min)]);
            }
            if (max is not null)
            {
                grad = Emit("Mul", [grad, Mask("Less", x, max)]);
            }
            Pass(node, 0, grad);
        }

        private void MatMul(NodeProto node, string dy)
        {
            string a = node.Input[0], b = node.Input[1];
            long[] aShape = Shape(a), bShape = Shape(b), yShape = Shape(node.Output[0]);
            if (aShape.Length < 2 || bShape.Length != 2)
            {
                throw new NotSupportedException($"{GraphNodes.Describe(node)}: only a matrix or batch of matrices times a 2-D matrix is differentiated");
            }
            if (Wants(node, 0))
            {
                Pass(node, 0, Emit("MatMul", [dy, Transpose2D(b)]));
            }
            if (Wants(node, 1))
            {
                long depth = aShape[^1], width = yShape[^1];
                string aRows = Reshape(a, [-1, depth]);
                string dyRows = Reshape(dy, [-1, width]);
                Pass(node, 1, Product(aRows, true, dyRows, false));
            }
        }

        private void Gemm(NodeProto node, string dy)
        {
            string a = node.Input[0], b = node.Input[1];
            bool transA = node.GetInt("transA") != 0, transB = node.GetInt("transB") != 0;
            float alpha = node.GetFloat("alpha", 1f), beta = node.GetFloat("beta", 1f);
            if (Wants(node, 0))
            {
                Pass(node, 0, transA ? Product(b, transB, dy, true, alpha) : Product(dy, false, b, !transB, alpha));
            }
            if (Wants(node, 1))
            {
                Pass(node, 1, transB ? Product(dy, true, a, transA, alpha) : Product(a, !transA, dy, false, alpha));
            }
            if (node.Input.Count > 2 && node.Input[2].Length > 0 && Wants(node, 2))
            {
                string scaled = beta == 1f ? dy : Emit("Mul", [dy, Scalar(beta)]);
                Pass(node, 2, Unbroadcast(scaled, node.Output[0], node.Input[2]));
            }
        }

        // alpha * op(a) * op(b) for matrices, as MatMul (Gemm's bias is not optional before opset 11).
        private string Product(string a, bool transposeA, string b, bool transposeB, float alpha = 1f)
        {
            string left = transposeA ? Transpose2D(a) : a, right = transposeB ? Transpose2D(b) : b;
            string product = Emit("MatMul", [left, right]);
            return alpha == 1f ? product : Emit("Mul", [product, Scalar(alpha)]);
        }

        private string Transpose2D(string matrix) => EmitNode(GraphNodes.Create("Transpose", [matrix], [Fresh()]).SetInts("perm", [1, 0]));

        private void MaxPool(NodeProto node, string dy)
        {
            if (node.Output.Count > 1 && node.Output[1].Length > 0)
            {
                throw new NotSupportedException($"{GraphNodes.Describe(node)}: MaxPool with its indices output is not differentiated");
            }
            long[] kernel = node.GetInts("kernel_shape");
            long[] strides = node.GetInts("strides", Ones(kernel.Length));
            bool overlapping = kernel.Zip(strides).Any(p => p.First > p.Second) || node.GetInts("dilations", Ones(kernel.Length)).Any(d => d != 1);
            if (_opset < 11)
            {
                throw new NotSupportedException($"{GraphNodes.Describe(node)}: MaxPool is differentiated from opset 11 (ScatterElements); the model has opset {_opset}");
            }
            if (overlapping && _opset < 16)
            {
                throw new NotSupportedException($"{GraphNodes.Describe(node)}: overlapping pooling windows need ScatterElements with reduction (opset 16); the model has opset {_opset}");
            }
            if (node.GetInt("storage_order") != 0)
            {
                throw new NotSupportedException($"{GraphNodes.Describe(node)}: column-major storage_order is not differentiated");
            }
            // Indices of the maxima over the flattened input; each output's gradient goes back to its maximum.
            string indices = Fresh();
            while (node.Output.Count < 2)
            {
                node.Output.Add("");
            }
            node.Output[1] = indices;
            _graph.Invalidate();
            long[] xShape = Shape(node.Input[0]);
            long elements = TensorShapes.ElementCount(xShape);
            string zeros = Emit("ConstantOfShape", [Int64s([elements])]);
            var scatter = GraphNodes.Create("ScatterElements", [zeros, Reshape(indices, [-1]), Reshape(dy, [-1])], [Fresh()]).SetInt("axis", 0);
            if (_opset >= 16)
            {
                scatter.SetString("reduction", "add");
            }
            Pass(node, 0, Reshape(EmitNode(scatter), xShape));
        }

        private void Concat(NodeProto node, string dy)
        {
            long[] yShape = Shape(node.Output[0]);
            int axis = TensorShapes.NormalizeAxis(node.GetInt("axis"), yShape.Length);
            long offset = 0;
            for (int i = 0; i < node.Input.Count; i++)
            {
                long size = Shape(node.Input[i])[axis];
                if (Wants(node, i))
                {
                    Pass(node, i, Slice(dy, [offset], [offset + size], [axis]));
                }
                offset += size;
            }
        }

        // ---- emitting ----

        private bool Wants(NodeProto node, int slot) =>
            slot < node.Input.Count && node.Input[slot].Length > 0 && _needsGradient.Contains(node.Input[slot]);

        private void Pass(NodeProto node, int slot, string gradient)
        {
            if (Wants(node, slot))
            {
                AddGradient(node.Input[slot], gradient);
            }
        }

        private void AddGradient(string tensor, string gradient)
        {
            if (!_gradientParts.TryGetValue(tensor, out var parts))
            {
                _gradientParts[tensor] = parts = [];
            }
            parts.Add(gradient);
        }

        // Every consumer has added its part by the time the producer is differentiated (reverse graph order).
        private string Gradient(string tensor)
        {
            var parts = _gradientParts[tensor];
            if (parts.Count > 1)
            {
                string sum = Emit("Sum", parts);
                parts.Clear();
                parts.Add(sum);
            }
            return parts[0];
        }

        private string Unbroadcast(string gradient, string gradientOf, string operand)
        {
            long[] full = Shape(gradientOf), target = Shape(operand);
            if (full.SequenceEqual(target))
            {
                return gradient;
            }
            int offset = full.Length - target.Length;
            var axes = Enumerable.Range(0, full.Length).Where(i => i < offset || (target[i - offset] == 1 && full[i] != 1)).ToArray();
            string reduced = axes.Length == 0 ? gradient : ReduceSum(gradient, axes, keepDims: true);
            return Reshape(reduced, target);
        }

        private string ReduceSum(string input, IReadOnlyList<int> axes, bool keepDims)
        {
            long[] axisValues = [.. axes.Select(a => (long)a)];
            var node = _opset >= 13
                ? GraphNodes.Create("ReduceSum", [input, Int64s(axisValues)], [Fresh()])
                : GraphNodes.Create("ReduceSum", [input], [Fresh()]).SetInts("axes", axisValues);
            return EmitNode(node.SetInt("keepdims", keepDims ? 1 : 0));
        }

        private string Slice(string input, long[] starts, long[] ends, long[] axes) => _opset >= 10
            ? Emit("Slice", [input, Int64s(starts), Int64s(ends), Int64s(axes)])
            : EmitNode(GraphNodes.Create("Slice", [input], [Fresh()]).SetInts("starts", starts).SetInts("ends", ends).SetInts("axes", axes));

        private string Reshape(string input, long[] shape) => Emit("Reshape", [input, Int64s(shape)]);

        private string Mask(string comparison, string a, string b) =>
            EmitNode(GraphNodes.Create("Cast", [Emit(comparison, [a, b])], [Fresh()]).SetInt("to", (long)OnnxDataType.Float));

        private string Emit(string opType, IEnumerable<string> inputs) => EmitNode(GraphNodes.Create(opType, inputs, [Fresh()]));

        private string EmitNode(NodeProto node)
        {
            if (node.Name.Length == 0)
            {
                node.Name = node.Output[0];
            }
            _graph.AddNode(node);
            return node.Output[0];
        }

        private string Fresh() => $"{_prefix}_{_counter++}";

        // One initializer per constant value, however many masks and slopes use it.
        private string Scalar(float value)
        {
            if (!_scalars.TryGetValue(value, out string? name))
            {
                _scalars[value] = name = Floats([value], []);
            }
            return name;
        }

        private string Floats(float[] values, long[] dims)
        {
            string name = Fresh();
            _graph.AddInitializer(TensorData.Create(values, dims).ToProto(name));
            return name;
        }

        private string Int64s(long[] values)
        {
            string name = Fresh();
            _graph.AddInitializer(TensorData.Vector(values).ToProto(name));
            return name;
        }

        private long[] Shape(string tensor)
        {
            if (_graph.FindInitializer(tensor) is { } initializer)
            {
                return [.. initializer.Dims];
            }
            return shapes.TryGetValue(tensor, out var shape)
                ? shape
                : throw new InvalidOperationException($"no shape was probed for tensor '{tensor}'");
        }

        private static long[] Ones(int count) => [.. Enumerable.Repeat(1L, count)];

        private static long[] Zeros(int count) => new long[count];
    }
}
