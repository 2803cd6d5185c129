using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>
/// Forward shape propagation over common ONNX ops, with the multiply-accumulate count of each
/// node. Also tracks the values of small integer tensors, because Reshape, Squeeze, Slice and
/// friends take their parameters from tensors computed by Shape/Gather/Concat chains.
/// </summary>
internal sealed class ShapeInference
{
    // Integer tensors up to this many elements are tracked by value (shapes, axes, indices).
    private const int MaxTrackedValues = 64;

    private static readonly HashSet<string> SameShapeOps = new(StringComparer.Ordinal)
    {
        "Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu", "Celu", "Softplus",
        "Softsign", "Gelu", "Mish", "Erf", "Exp", "Log", "Sqrt", "Reciprocal", "Neg", "Abs", "Ceil", "Floor",
        "Round", "Sign", "Sin", "Cos", "Not", "Clip", "Softmax", "LogSoftmax", "Hardmax", "LRN",
        "InstanceNormalization", "LayerNormalization", "MeanVarianceNormalization", "QuantizeLinear",
        "DequantizeLinear", "IsNaN", "IsInf", "Shrink", "ThresholdedRelu", "CumSum",
    };

    private static readonly HashSet<string> BroadcastOps = new(StringComparer.Ordinal)
    {
        "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Equal", "Less", "Greater",
        "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Where", "Mod", "BitShift", "PRelu",
    };

    private static readonly HashSet<string> ReduceOps = new(StringComparer.Ordinal)
    {
        "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
        "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare",
    };

    private readonly Dictionary<string, long[]> _shapes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long[]> _values = new(StringComparer.Ordinal);
    // Small float tensors (Resize and Upsample scales).
    private readonly Dictionary<string, float[]> _floatValues = new(StringComparer.Ordinal);
    private readonly long _opset;

    public ShapeInference(long opset)
    {
        _opset = opset;
    }

    public Dictionary<string, long[]> Shapes => _shapes;

    public void SetShape(string name, long[] shape) => _shapes[name] = shape;

    public void SetValues(string name, long[] values)
    {
        if (values.Length <= MaxTrackedValues)
        {
            _values[name] = values;
        }
    }

    public long[]? ShapeOf(string name) => _shapes.GetValueOrDefault(name);

    /// <summary>Sets the node's output shapes and returns its MACs, or throws <see cref="UnresolvedShapeException"/>.</summary>
    public long Infer(NodeProto node)
    {
        if (node.Domain == "com.microsoft" && node.OpType == "DynamicQuantizeLSTM")
        {
            return Recurrent(node, 4, transposedWeights: true);
        }

        if (node.Domain is not ("" or "ai.onnx"))
        {
            throw new UnresolvedShapeException($"op '{node.Domain}.{node.OpType}' is outside the standard domain, so its shape is unknown");
        }

        string op = node.OpType;
        if (SameShapeOps.Contains(op))
        {
            SetOutput(node, 0, InputShape(node, 0));
            return 0;
        }

        if (BroadcastOps.Contains(op))
        {
            return Broadcast(node);
        }

        if (ReduceOps.Contains(op))
        {
            return Reduce(node);
        }

        return op switch
        {
            "Conv" or "ConvInteger" => Conv(node, 0, 1),
            "QLinearConv" => Conv(node, 0, 3),
            "ConvTranspose" => ConvTranspose(node),
            "Gemm" => Gemm(node),
            "MatMul" or "MatMulInteger" => MatMul(node, 0, 1),
            "QLinearMatMul" => MatMul(node, 0, 3),
            "BatchNormalization" => BatchNormalization(node),
            "Identity" or "Cast" or "CastLike" => PassThrough(node),
            "Dropout" => Dropout(node),
            "MaxPool" or "AveragePool" or "LpPool" => Pool(node),
            "GlobalAveragePool" or "GlobalMaxPool" or "GlobalLpPool" => GlobalPool(node),
            "Flatten" => Flatten(node),
            "Reshape" => Reshape(node),
            "Transpose" => Transpose(node),
            "Concat" => Concat(node),
            "Squeeze" => Squeeze(node),
            "Unsqueeze" => Unsqueeze(node),
            "Shape" => ShapeOp(node),
            "Size" => SizeOp(node),
            "Gather" => Gather(node),
            "Constant" => Constant(node),
            "ConstantOfShape" => ConstantOfShape(node),
            "Slice" => Slice(node),
            "ArgMax" or "ArgMin" => ArgReduce(node),
            "Resize" or "Upsample" => Resize(node),
            "DynamicQuantizeLinear" => DynamicQuantizeLinear(node),
            "LSTM" => Recurrent(node, 4),
            "GRU" => Recurrent(node, 3),
            "RNN" => Recurrent(node, 1),
            "If" => If(node),
            "Loop" => Loop(node),
            "Scan" => Scan(node),
            _ => throw new UnresolvedShapeException($"op '{op}' is not one the MAC counter knows"),
        };
    }

    // ---- recurrent and control flow ----

    private long DynamicQuantizeLinear(NodeProto node)
    {
        SetOutput(node, 0, InputShape(node, 0));
        SetOutput(node, 1, []);
        SetOutput(node, 2, []);
        return 0;
    }

    /// <summary>LSTM (4 gates), GRU (3), RNN (1): each step multiplies the input by W and the state by R, per direction.</summary>
    /// <param name="transposedWeights">W as [dirs, input, gates*hidden] and R as [dirs, hidden, gates*hidden] (DynamicQuantizeLSTM).</param>
    private long Recurrent(NodeProto node, int gates, bool transposedWeights = false)
    {
        long[] x = InputShape(node, 0), w = InputShape(node, 1), r = InputShape(node, 2);
        if (x.Length != 3 || w.Length != 3 || r.Length != 3)
        {
            throw new UnresolvedShapeException($"{node.OpType} needs rank-3 X, W and R, got {TensorShapes.Format(x)}, {TensorShapes.Format(w)}, {TensorShapes.Format(r)}");
        }
        bool batchFirst = node.GetInt("layout") == 1;
        long sequence = batchFirst ? x[1] : x[0], batch = batchFirst ? x[0] : x[1];
        if (transposedWeights)
        {
            w = [w[0], w[2], w[1]];
            r = [r[0], r[2], r[1]];
        }
        long directions = w[0], hidden = r[2];
        if (w[1] != gates * hidden)
        {
            throw new UnresolvedShapeException($"{node.OpType} W has {w[1]} rows, expected {gates} gates x {hidden}");
        }
        SetOutput(node, 0, batchFirst ? [batch, sequence, directions, hidden] : [sequence, directions, batch, hidden]);
        SetOutput(node, 1, batchFirst ? [batch, directions, hidden] : [directions, batch, hidden]);
        SetOutput(node, 2, batchFirst ? [batch, directions, hidden] : [directions, batch, hidden]);
        return checked(directions * sequence * batch * gates * hidden * (x[2] + hidden));
    }

    /// <summary>Analyses a body with what its enclosing graphs know; returns its MACs and its outputs' shapes (null when unknown).</summary>
    private (long Macs, long[]?[] Outputs) Body(GraphProto body, IReadOnlyList<long[]?> inputShapes)
    {
        var nested = new ShapeInference(_opset);
        foreach (var (name, shape) in _shapes)
        {
            nested._shapes[name] = shape;
        }
        foreach (var (name, values) in _values)
        {
            nested._values[name] = values;
        }
        foreach (var initializer in body.Initializer)
        {
            nested.SetShape(initializer.Name, [.. initializer.Dims]);
            nested.TrackTensorValues(initializer.Name, initializer, null);
        }
        for (int i = 0; i < body.Input.Count && i < inputShapes.Count; i++)
        {
            if (inputShapes[i] is { } shape)
            {
                nested.SetShape(body.Input[i].Name, shape);
            }
        }
        if (!NodeOrdering.TrySort(body.Node, out var order, out _))
        {
            throw new UnresolvedShapeException($"body '{body.Name}' has a cycle");
        }
        long macs = 0;
        foreach (var inner in order)
        {
            // A body node the counter cannot follow makes the whole body unresolved: its cost would be a guess.
            macs = checked(macs + nested.Infer(inner));
        }
        return (macs, [.. body.Output.Select(o => nested.ShapeOf(o.Name))]);
    }

    /// <summary>Either branch may run: the cost is the dearer one's, the shapes those both branches agree on.</summary>
    private long If(NodeProto node)
    {
        var branches = node.Attribute.Where(a => a.G is not null).Select(a => Body(a.G, [])).ToList();
        if (branches.Count != 2)
        {
            throw new UnresolvedShapeException("If needs a then_branch and an else_branch");
        }
        for (int i = 0; i < node.Output.Count; i++)
        {
            if (branches[0].Outputs.ElementAtOrDefault(i) is { } a && branches[1].Outputs.ElementAtOrDefault(i) is { } b && a.SequenceEqual(b))
            {
                SetOutput(node, i, a);
            }
        }
        return Math.Max(branches[0].Macs, branches[1].Macs);
    }

    /// <summary>The body's cost times the trip count, which must be a constant (M), else the loop is unresolved.</summary>
    private long Loop(NodeProto node)
    {
        var body = node.FindAttribute("body")?.G ?? throw new UnresolvedShapeException("Loop has no body");
        if (!HasInput(node, 0) || !_values.TryGetValue(node.Input[0], out var trip) || trip.Length != 1)
        {
            throw new UnresolvedShapeException("the Loop's trip count is not a constant, so its cost is unknown (specialise the model for a fixed count)");
        }
        var carried = node.Input.Skip(2).Select(name => name.Length > 0 ? _shapes.GetValueOrDefault(name) : null).ToList();
        var (macs, outputs) = Body(body, [[], [], .. carried]);
        int carriedCount = carried.Count;
        for (int i = 0; i < node.Output.Count; i++)
        {
            if (i < carriedCount)
            {
                if (outputs.ElementAtOrDefault(i + 1) is { } shape)
                {
                    SetOutput(node, i, shape);
                }
            }
            else if (outputs.ElementAtOrDefault(i + 1) is { } step)
            {
                SetOutput(node, i, [trip[0], .. step]);
            }
        }
        return checked(macs * trip[0]);
    }

    /// <summary>The body's cost times the length of the scanned axis.</summary>
    private long Scan(NodeProto node)
    {
        var body = node.FindAttribute("body")?.G ?? throw new UnresolvedShapeException("Scan has no body");
        int scanInputs = (int)node.GetInt("num_scan_inputs");
        int states = node.Input.Count - scanInputs;
        long[] axes = node.GetInts("scan_input_axes", [.. Enumerable.Repeat(0L, scanInputs)]);
        var shapes = new List<long[]?>();
        long length = -1;
        for (int i = 0; i < node.Input.Count; i++)
        {
            long[] shape = InputShape(node, i);
            if (i < states)
            {
                shapes.Add(shape);
                continue;
            }
            int axis = (int)(axes[i - states] < 0 ? axes[i - states] + shape.Length : axes[i - states]);
            length = shape[axis];
            shapes.Add([.. shape.Where((_, d) => d != axis)]);
        }
        var (macs, outputs) = Body(body, shapes);
        for (int i = 0; i < node.Output.Count; i++)
        {
            if (outputs.ElementAtOrDefault(i) is { } shape)
            {
                SetOutput(node, i, i < states ? shape : [length, .. shape]);
            }
        }
        return checked(macs * Math.Max(length, 0));
    }

    // ---- compute-heavy ops ----

    private long Conv(NodeProto node, int inputIndex, int weightIndex)
    {
        long[] x = InputShape(node, inputIndex);
        long[] w = InputShape(node, weightIndex);
        if (x.Length < 3 || w.Length != x.Length)
        {
            throw new UnresolvedShapeException($"input shape {TensorShapes.Format(x)} and weight shape {TensorShapes.Format(w)} do not fit a convolution");
        }

        int spatial = x.Length - 2;
        long group = node.GetInt("group", 1);
        if (w[1] * group != x[1])
        {
            throw new UnresolvedShapeException($"weight expects {w[1] * group} input channels but the input has {x[1]}");
        }

        long[] kernel = node.GetInts("kernel_shape", w[2..]);
        long[] strides = node.GetInts("strides", Filled(spatial, 1));
        long[] dilations = node.GetInts("dilations", Filled(spatial, 1));
        long[] pads = node.GetInts("pads", new long[2 * spatial]);
        string autoPad = node.GetString("auto_pad", "NOTSET");
        CheckLengths(node, spatial, kernel, strides, dilations, pads);

        var output = new long[x.Length];
        output[0] = x[0];
        output[1] = w[0];
        for (int i = 0; i < spatial; i++)
        {
            output[2 + i] = WindowOutputSize(x[2 + i], kernel[i], strides[i], dilations[i], pads[i], pads[i + spatial], autoPad, ceilMode: false);
        }

        SetOutput(node, 0, output);
        return checked(x[0] * w[0] * TensorShapes.Product(output, 2, output.Length) * w[1] * TensorShapes.Product(kernel, 0, kernel.Length));
    }

    private long ConvTranspose(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        long[] w = InputShape(node, 1);
        if (x.Length < 3 || w.Length != x.Length || w[0] != x[1])
        {
            throw new UnresolvedShapeException($"input shape {TensorShapes.Format(x)} and weight shape {TensorShapes.Format(w)} do not fit a transposed convolution");
        }

        int spatial = x.Length - 2;
        long group = node.GetInt("group", 1);
        long[] kernel = node.GetInts("kernel_shape", w[2..]);
        long[] strides = node.GetInts("strides", Filled(spatial, 1));
        long[] dilations = node.GetInts("dilations", Filled(spatial, 1));
        long[] pads = node.GetInts("pads", new long[2 * spatial]);
        long[] outputPadding = node.GetInts("output_padding", new long[spatial]);
        long[] outputShape = node.GetInts("output_shape");
        string autoPad = node.GetString("auto_pad", "NOTSET");
        CheckLengths(node, spatial, kernel, strides, dilations, pads);

        var output = new long[x.Length];
        output[0] = x[0];
        output[1] = w[1] * group;
        for (int i = 0; i < spatial; i++)
        {
            if (outputShape.Length > 0)
            {
                output[2 + i] = outputShape[outputShape.Length == x.Length ? 2 + i : i];
            }
            else if (autoPad is "SAME_UPPER" or "SAME_LOWER")
            {
                output[2 + i] = x[2 + i] * strides[i];
            }
            else
            {
                output[2 + i] = strides[i] * (x[2 + i] - 1) + outputPadding[i] + (dilations[i] * (kernel[i] - 1)) + 1 - pads[i] - pads[i + spatial];
            }
        }

        SetOutput(node, 0, output);
        return checked(x[0] * x[1] * TensorShapes.Product(x, 2, x.Length) * w[1] * TensorShapes.Product(kernel, 0, kernel.Length));
    }

    private long Gemm(NodeProto node)
    {
        long[] a = InputShape(node, 0);
        long[] b = InputShape(node, 1);
        if (a.Length != 2 || b.Length != 2)
        {
            throw new UnresolvedShapeException($"Gemm needs 2-D inputs, got {TensorShapes.Format(a)} and {TensorShapes.Format(b)}");
        }

        bool transA = node.GetInt("transA") != 0;
        bool transB = node.GetInt("transB") != 0;
        long m = transA ? a[1] : a[0];
        long k = transA ? a[0] : a[1];
        long kB = transB ? b[1] : b[0];
        long n = transB ? b[0] : b[1];
        if (k != kB)
        {
            throw new UnresolvedShapeException($"inner dims differ: A gives {k}, B gives {kB}");
        }

        SetOutput(node, 0, [m, n]);
        return checked(m * k * n);
    }

    private long MatMul(NodeProto node, int leftIndex, int rightIndex)
    {
        long[] a = InputShape(node, leftIndex);
        long[] b = InputShape(node, rightIndex);
        if (a.Length == 0 || b.Length == 0)
        {
            throw new UnresolvedShapeException("MatMul inputs cannot be scalars");
        }

        // numpy semantics: a 1-D operand gains a dim of 1 that is dropped again from the result.
        bool vectorLeft = a.Length == 1;
        bool vectorRight = b.Length == 1;
        long[] left = vectorLeft ? [1, a[0]] : a;
        long[] right = vectorRight ? [b[0], 1] : b;
        long m = left[^2];
        long k = left[^1];
        long n = right[^1];
        if (right[^2] != k)
        {
            throw new UnresolvedShapeException($"inner dims differ: {TensorShapes.Format(a)} x {TensorShapes.Format(b)}");
        }

        long[] batch = BroadcastShapes(left[..^2], right[..^2]);
        var output = new List<long>(batch);
        if (!vectorLeft)
        {
            output.Add(m);
        }

        if (!vectorRight)
        {
            output.Add(n);
        }

        SetOutput(node, 0, [.. output]);
        return checked(TensorShapes.Product(batch, 0, batch.Length) * m * k * n);
    }

    // One multiply-add per element: at inference BatchNormalization is a per-channel scale and shift.
    private long BatchNormalization(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        SetOutput(node, 0, x);
        return TensorShapes.ElementCount(x);
    }

    // ---- shape-only ops ----

    private long PassThrough(NodeProto node)
    {
        SetOutput(node, 0, InputShape(node, 0));
        if (_values.TryGetValue(node.Input[0], out var values) && node.Output.Count > 0)
        {
            SetValues(node.Output[0], values);
        }

        return 0;
    }

    private long Dropout(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        SetOutput(node, 0, x);
        SetOutput(node, 1, x);
        return 0;
    }

    private long Broadcast(NodeProto node)
    {
        long[] shape = [];
        for (int i = 0; i < node.Input.Count; i++)
        {
            if (node.Input[i].Length > 0)
            {
                shape = BroadcastShapes(shape, InputShape(node, i));
            }
        }

        SetOutput(node, 0, shape);
        TrackArithmetic(node);
        return 0;
    }

    private void TrackArithmetic(NodeProto node)
    {
        if (node.OpType is not ("Add" or "Sub" or "Mul" or "Div") || node.Input.Count != 2
            || !_values.TryGetValue(node.Input[0], out var a) || !_values.TryGetValue(node.Input[1], out var b)
            || (a.Length != b.Length && a.Length != 1 && b.Length != 1))
        {
            return;
        }

        int length = Math.Max(a.Length, b.Length);
        var result = new long[length];
        for (int i = 0; i < length; i++)
        {
            long left = a[a.Length == 1 ? 0 : i];
            long right = b[b.Length == 1 ? 0 : i];
            result[i] = node.OpType switch
            {
                "Add" => left + right,
                "Sub" => left - right,
                "Mul" => left * right,
                _ => right == 0 ? 0 : left / right,
            };
        }

        SetValues(node.Output[0], result);
    }

    private long Pool(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        if (x.Length < 3)
        {
            throw new UnresolvedShapeException($"pooling needs an N,C,spatial input, got {TensorShapes.Format(x)}");
        }

        int spatial = x.Length - 2;
        long[] kernel = node.GetInts("kernel_shape");
        if (kernel.Length != spatial)
        {
            throw new UnresolvedShapeException($"kernel_shape {TensorShapes.Format(kernel)} does not fit input {TensorShapes.Format(x)}");
        }

        long[] strides = node.GetInts("strides", Filled(spatial, 1));
        long[] dilations = node.GetInts("dilations", Filled(spatial, 1));
        long[] pads = node.GetInts("pads", new long[2 * spatial]);
        string autoPad = node.GetString("auto_pad", "NOTSET");
        bool ceilMode = node.GetInt("ceil_mode") != 0;
        CheckLengths(node, spatial, kernel, strides, dilations, pads);

        var output = new long[x.Length];
        output[0] = x[0];
        output[1] = x[1];
        for (int i = 0; i < spatial; i++)
        {
            output[2 + i] = WindowOutputSize(x[2 + i], kernel[i], strides[i], dilations[i], pads[i], pads[i + spatial], autoPad, ceilMode);
        }

        SetOutput(node, 0, output);
        SetOutput(node, 1, output);
        return 0;
    }

    private long GlobalPool(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        if (x.Length < 3)
        {
            throw new UnresolvedShapeException($"global pooling needs an N,C,spatial input, got {TensorShapes.Format(x)}");
        }

        var output = Filled(x.Length, 1);
        output[0] = x[0];
        output[1] = x[1];
        SetOutput(node, 0, output);
        return 0;
    }

    private long Flatten(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        long axis = node.GetInt("axis", 1);
        if (axis < 0)
        {
            axis += x.Length;
        }

        if (axis < 0 || axis > x.Length)
        {
            throw new UnresolvedShapeException($"axis {node.GetInt("axis", 1)} is out of range for {TensorShapes.Format(x)}");
        }

        SetOutput(node, 0, [TensorShapes.Product(x, 0, (int)axis), TensorShapes.Product(x, (int)axis, x.Length)]);
        return 0;
    }

    private long Reshape(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        long[] target = _opset < 5 ? node.GetInts("shape") : InputValues(node, 1);
        bool allowZero = node.GetInt("allowzero") != 0;
        var output = new long[target.Length];
        int inferred = -1;
        long knownProduct = 1;
        for (int i = 0; i < target.Length; i++)
        {
            long dim = target[i];
            if (dim == 0 && !allowZero)
            {
                if (i >= x.Length)
                {
                    throw new UnresolvedShapeException($"target shape {TensorShapes.Format(target)} copies dim {i}, which {TensorShapes.Format(x)} does not have");
                }

                dim = x[i];
            }
            else if (dim == -1)
            {
                if (inferred >= 0)
                {
                    throw new UnresolvedShapeException($"target shape {TensorShapes.Format(target)} has more than one -1");
                }

                inferred = i;
                continue;
            }
            else if (dim < 0)
            {
                throw new UnresolvedShapeException($"target shape {TensorShapes.Format(target)} has a negative dim");
            }

            output[i] = dim;
            knownProduct = checked(knownProduct * dim);
        }

        long total = TensorShapes.ElementCount(x);
        if (inferred >= 0)
        {
            if (knownProduct == 0 || total % knownProduct != 0)
            {
                throw new UnresolvedShapeException($"cannot reshape {TensorShapes.Format(x)} to {TensorShapes.Format(target)}");
            }

            output[inferred] = total / knownProduct;
        }
        else if (knownProduct != total)
        {
            throw new UnresolvedShapeException($"cannot reshape {TensorShapes.Format(x)} ({total} elements) to {TensorShapes.Format(output)}");
        }

        SetOutput(node, 0, output);
        if (_values.TryGetValue(node.Input[0], out var values))
        {
            SetValues(node.Output[0], values);
        }

        return 0;
    }

    private long Transpose(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        long[] perm = node.GetInts("perm");
        if (perm.Length == 0)
        {
            perm = new long[x.Length];
            for (int i = 0; i < perm.Length; i++)
            {
                perm[i] = x.Length - 1 - i;
            }
        }

        if (perm.Length != x.Length)
        {
            throw new UnresolvedShapeException($"perm {TensorShapes.Format(perm)} does not fit {TensorShapes.Format(x)}");
        }

        var output = new long[x.Length];
        for (int i = 0; i < output.Length; i++)
        {
            output[i] = x[TensorShapes.NormalizeAxis(perm[i], x.Length)];
        }

        SetOutput(node, 0, output);
        return 0;
    }

    private long Concat(NodeProto node)
    {
        long[] first = InputShape(node, 0);
        int axis = TensorShapes.NormalizeAxis(node.GetInt("axis"), first.Length);
        long[] output = (long[])first.Clone();
        var values = new List<long>();
        bool allValuesKnown = true;
        for (int i = 0; i < node.Input.Count; i++)
        {
            long[] input = InputShape(node, i);
            if (input.Length != first.Length)
            {
                throw new UnresolvedShapeException($"inputs have different ranks: {TensorShapes.Format(first)} and {TensorShapes.Format(input)}");
            }

            if (i > 0)
            {
                output[axis] += input[axis];
            }

            if (allValuesKnown && _values.TryGetValue(node.Input[i], out var inputValues))
            {
                values.AddRange(inputValues);
            }
            else
            {
                allValuesKnown = false;
            }
        }

        SetOutput(node, 0, output);
        if (allValuesKnown && output.Length == 1)
        {
            SetValues(node.Output[0], [.. values]);
        }

        return 0;
    }

    private long Squeeze(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        long[] axes = _opset >= 13
            ? (node.Input.Count > 1 && node.Input[1].Length > 0 ? InputValues(node, 1) : [])
            : node.GetInts("axes");
        var remove = new HashSet<int>();
        if (axes.Length == 0)
        {
            for (int i = 0; i < x.Length; i++)
            {
                if (x[i] == 1)
                {
                    remove.Add(i);
                }
            }
        }
        else
        {
            foreach (long axis in axes)
            {
                remove.Add(TensorShapes.NormalizeAxis(axis, x.Length));
            }
        }

        var output = new List<long>();
        for (int i = 0; i < x.Length; i++)
        {
            if (!remove.Contains(i))
            {
                output.Add(x[i]);
            }
        }

        SetOutput(node, 0, [.. output]);
        if (_values.TryGetValue(node.Input[0], out var values))
        {
            SetValues(node.Output[0], values);
        }

        return 0;
    }

    private long Unsqueeze(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        long[] axes = _opset >= 13 ? InputValues(node, 1) : node.GetInts("axes");
        int rank = x.Length + axes.Length;
        var inserted = new HashSet<int>();
        foreach (long axis in axes)
        {
            inserted.Add(TensorShapes.NormalizeAxis(axis, rank));
        }

        var output = new long[rank];
        int source = 0;
        for (int i = 0; i < rank; i++)
        {
            output[i] = inserted.Contains(i) ? 1 : x[source++];
        }

        SetOutput(node, 0, output);
        if (_values.TryGetValue(node.Input[0], out var values))
        {
            SetValues(node.Output[0], values);
        }

        return 0;
    }

    private long ShapeOp(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        long start = node.GetInt("start", 0);
        long end = node.GetInt("end", x.Length);
        start = Math.Clamp(start < 0 ? start + x.Length : start, 0, x.Length);
        end = Math.Clamp(end < 0 ? end + x.Length : end, 0, x.Length);
        long[] dims = end > start ? x[(int)start..(int)end] : [];
        SetOutput(node, 0, [dims.Length]);
        SetValues(node.Output[0], dims);
        return 0;
    }

    private long SizeOp(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        SetOutput(node, 0, []);
        SetValues(node.Output[0], [TensorShapes.ElementCount(x)]);
        return 0;
    }

    private long Gather(NodeProto node)
    {
        long[] data = InputShape(node, 0);
        long[] indices = InputShape(node, 1);
        int axis = TensorShapes.NormalizeAxis(node.GetInt("axis"), data.Length);
        long[] output = [.. data[..axis], .. indices, .. data[(axis + 1)..]];
        SetOutput(node, 0, output);
        if (data.Length == 1 && _values.TryGetValue(node.Input[0], out var dataValues) && _values.TryGetValue(node.Input[1], out var indexValues))
        {
            var gathered = new long[indexValues.Length];
            for (int i = 0; i < gathered.Length; i++)
            {
                long index = indexValues[i] < 0 ? indexValues[i] + dataValues.Length : indexValues[i];
                if (index < 0 || index >= dataValues.Length)
                {
                    throw new UnresolvedShapeException($"index {indexValues[i]} is out of range for {dataValues.Length} values");
                }

                gathered[i] = dataValues[index];
            }

            SetValues(node.Output[0], gathered);
        }

        return 0;
    }

    private long Constant(NodeProto node)
    {
        if (node.GetTensor("value") is { } tensor)
        {
            long[] dims = [.. tensor.Dims];
            SetOutput(node, 0, dims);
            TrackTensorValues(node.Output[0], tensor, null);
        }
        else if (node.HasAttribute("value_float") || node.HasAttribute("value_int") || node.HasAttribute("value_string"))
        {
            SetOutput(node, 0, []);
            if (node.HasAttribute("value_int"))
            {
                SetValues(node.Output[0], [node.GetInt("value_int")]);
            }
        }
        else if (node.HasAttribute("value_floats"))
        {
            SetOutput(node, 0, [node.GetFloats("value_floats").Length]);
        }
        else if (node.HasAttribute("value_ints"))
        {
            long[] ints = node.GetInts("value_ints");
            SetOutput(node, 0, [ints.Length]);
            SetValues(node.Output[0], ints);
        }
        else if (node.HasAttribute("value_strings"))
        {
            SetOutput(node, 0, [node.GetStrings("value_strings").Length]);
        }
        else if (node.FindAttribute("sparse_value")?.SparseTensor is { } sparse)
        {
            SetOutput(node, 0, [.. sparse.Dims]);
        }
        else
        {
            throw new UnresolvedShapeException("Constant has no value attribute");
        }

        return 0;
    }

    private long ConstantOfShape(NodeProto node)
    {
        long[] shape = InputValues(node, 0);
        SetOutput(node, 0, shape);
        return 0;
    }

    private long Slice(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        long[] starts;
        long[] ends;
        long[]? axes;
        long[]? steps;
        if (_opset < 10)
        {
            starts = node.GetInts("starts");
            ends = node.GetInts("ends");
            axes = node.HasAttribute("axes") ? node.GetInts("axes") : null;
            steps = null;
        }
        else
        {
            starts = InputValues(node, 1);
            ends = InputValues(node, 2);
            axes = HasInput(node, 3) ? InputValues(node, 3) : null;
            steps = HasInput(node, 4) ? InputValues(node, 4) : null;
        }

        if (ends.Length != starts.Length || (axes is not null && axes.Length != starts.Length) || (steps is not null && steps.Length != starts.Length))
        {
            throw new UnresolvedShapeException("starts, ends, axes and steps have different lengths");
        }

        long[] output = (long[])x.Clone();
        var ranges = new (long Start, long Step, long Count)[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            ranges[i] = (0, 1, x[i]);
        }

        for (int i = 0; i < starts.Length; i++)
        {
            int axis = TensorShapes.NormalizeAxis(axes?[i] ?? i, x.Length);
            long step = steps?[i] ?? 1;
            if (step == 0)
            {
                throw new UnresolvedShapeException("Slice step is 0");
            }

            long dim = x[axis];
            long start = starts[i] < 0 ? starts[i] + dim : starts[i];
            long end = ends[i] < 0 ? ends[i] + dim : ends[i];
            long count;
            if (step > 0)
            {
                start = Math.Clamp(start, 0, dim);
                end = Math.Clamp(end, 0, dim);
                count = end > start ? ((end - start) + step - 1) / step : 0;
            }
            else
            {
                start = Math.Clamp(start, 0, dim - 1);
                end = Math.Clamp(end, -1, dim - 1);
                count = start > end ? ((start - end) + (-step) - 1) / -step : 0;
            }

            output[axis] = count;
            ranges[axis] = (start, step, count);
        }

        SetOutput(node, 0, output);
        if (x.Length == 1 && _values.TryGetValue(node.Input[0], out var values))
        {
            var sliced = new long[ranges[0].Count];
            for (int i = 0; i < sliced.Length; i++)
            {
                sliced[i] = values[ranges[0].Start + (i * ranges[0].Step)];
            }

            SetValues(node.Output[0], sliced);
        }

        return 0;
    }

    private long Reduce(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        bool keepDims = node.GetInt("keepdims", 1) != 0;
        long[] axes = node.HasAttribute("axes") ? node.GetInts("axes") : HasInput(node, 1) ? InputValues(node, 1) : [];
        if (axes.Length == 0 && node.GetInt("noop_with_empty_axes") != 0)
        {
            SetOutput(node, 0, x);
            return 0;
        }

        var reduced = new HashSet<int>();
        if (axes.Length == 0)
        {
            for (int i = 0; i < x.Length; i++)
            {
                reduced.Add(i);
            }
        }
        else
        {
            foreach (long axis in axes)
            {
                reduced.Add(TensorShapes.NormalizeAxis(axis, x.Length));
            }
        }

        SetOutput(node, 0, ReducedShape(x, reduced, keepDims));
        return 0;
    }

    private long ArgReduce(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        int axis = TensorShapes.NormalizeAxis(node.GetInt("axis"), x.Length);
        SetOutput(node, 0, ReducedShape(x, [axis], node.GetInt("keepdims", 1) != 0));
        return 0;
    }

    // ---- helpers ----

    private static long[] ReducedShape(long[] x, HashSet<int> reduced, bool keepDims)
    {
        var output = new List<long>();
        for (int i = 0; i < x.Length; i++)
        {
            if (!reduced.Contains(i))
            {
                output.Add(x[i]);
            }
            else if (keepDims)
            {
                output.Add(1);
            }
        }

        return [.. output];
    }

    private static long WindowOutputSize(long input, long kernel, long stride, long dilation, long padBegin, long padEnd, string autoPad, bool ceilMode)
    {
        if (stride <= 0 || dilation <= 0 || kernel <= 0)
        {
            throw new UnresolvedShapeException($"kernel {kernel}, stride {stride} and dilation {dilation} must be positive");
        }

        long effectiveKernel = (dilation * (kernel - 1)) + 1;
        switch (autoPad)
        {
            case "SAME_UPPER" or "SAME_LOWER":
                return CeilDiv(input, stride);
            case "VALID":
                if (input < effectiveKernel)
                {
                    throw new UnresolvedShapeException($"kernel extent {effectiveKernel} is larger than the input size {input}");
                }

                return CeilDiv(input - effectiveKernel + 1, stride);
            default:
                long span = input + padBegin + padEnd - effectiveKernel;
                if (span < 0)
                {
                    throw new UnresolvedShapeException($"kernel extent {effectiveKernel} is larger than the padded input size {input + padBegin + padEnd}");
                }

                long size = (ceilMode ? CeilDiv(span, stride) : span / stride) + 1;

                // With ceil_mode the last window must still start inside the input or left padding.
                if (ceilMode && (size - 1) * stride >= input + padBegin)
                {
                    size--;
                }

                return size;
        }
    }

    private static long CeilDiv(long numerator, long denominator) => (numerator + denominator - 1) / denominator;

    private static long[] BroadcastShapes(long[] a, long[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var output = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long left = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            long right = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (left != right && left != 1 && right != 1)
            {
                throw new UnresolvedShapeException($"shapes {TensorShapes.Format(a)} and {TensorShapes.Format(b)} do not broadcast");
            }

            output[i] = left == 1 ? right : left;
        }

        return output;
    }

    private static long[] Filled(int length, long value)
    {
        var array = new long[length];
        Array.Fill(array, value);
        return array;
    }

    private static void CheckLengths(NodeProto node, int spatial, long[] kernel, long[] strides, long[] dilations, long[] pads)
    {
        if (kernel.Length != spatial || strides.Length != spatial || dilations.Length != spatial || pads.Length != 2 * spatial)
        {
            throw new UnresolvedShapeException(
                $"kernel_shape, strides, dilations or pads of {GraphNodes.Describe(node)} do not match {spatial} spatial dims");
        }
    }

    private static bool HasInput(NodeProto node, int index) => index < node.Input.Count && node.Input[index].Length > 0;

    private long[] InputShape(NodeProto node, int index)
    {
        if (!HasInput(node, index))
        {
            throw new UnresolvedShapeException($"input {index} is missing");
        }

        string name = node.Input[index];
        return _shapes.TryGetValue(name, out var shape)
            ? shape
            : throw new UnresolvedShapeException($"the shape of input '{name}' is unknown");
    }

    private long[] InputValues(NodeProto node, int index)
    {
        if (!HasInput(node, index))
        {
            throw new UnresolvedShapeException($"input {index} is missing");
        }

        string name = node.Input[index];
        return _values.TryGetValue(name, out var values)
            ? values
            : throw new UnresolvedShapeException($"input '{name}' is not a constant the counter can evaluate");
    }

    private void SetOutput(NodeProto node, int index, long[] shape)
    {
        if (index < node.Output.Count && node.Output[index].Length > 0)
        {
            _shapes[node.Output[index]] = shape;
        }
    }

    /// <summary>Records the values of a small integer tensor, for later shape computations.</summary>
    /// <summary>Resize (scales or sizes) and Upsample (scales): the output size of each axis, floor(input x scale) as ONNX specifies.</summary>
    private long Resize(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        bool attributeScales = node.OpType == "Upsample" && node.HasAttribute("scales");
        int scalesIndex = node.OpType == "Upsample" || node.Input.Count == 2 ? 1 : 2;
        long[] output;
        if (node.OpType == "Resize" && HasInput(node, 3))
        {
            output = InputValues(node, 3);
        }
        else
        {
            float[] scales = attributeScales ? node.GetFloats("scales")
                : HasInput(node, scalesIndex) && _floatValues.TryGetValue(node.Input[scalesIndex], out var values) ? values
                : throw new UnresolvedShapeException($"the scales of {node.OpType} are not a constant the counter can evaluate");
            if (scales.Length != x.Length)
            {
                throw new UnresolvedShapeException($"{scales.Length} scales for an input of rank {x.Length}");
            }
            output = [.. x.Select((d, i) => (long)Math.Floor(d * (double)scales[i]))];
        }
        if (output.Length != x.Length)
        {
            throw new UnresolvedShapeException($"{node.OpType} output rank {output.Length} differs from the input's {x.Length}");
        }
        SetOutput(node, 0, output);
        return 0;
    }

    public void TrackTensorValues(string name, TensorProto tensor, string? externalDataDirectory)
    {
        var type = (OnnxDataType)tensor.DataType;
        if (type == OnnxDataType.Float && tensor.Dims.Count <= 1 && (tensor.Dims.Count == 0 || tensor.Dims[0] <= 8))
        {
            try
            {
                _floatValues[name] = TensorData.FromProto(tensor, externalDataDirectory).ToFloatArray();
            }
            catch (Exception ex) when (ex is OnnxFormatException or NotSupportedException or IOException)
            {
                // Only a help for Resize shapes.
            }
            return;
        }
        if (!OnnxDataTypes.IsInteger(type) && type != OnnxDataType.Bool)
        {
            return;
        }

        long count;
        try
        {
            count = TensorShapes.ElementCount(tensor.Dims);
        }
        catch (Exception ex) when (ex is ArgumentException or OverflowException)
        {
            return;
        }

        if (count > MaxTrackedValues)
        {
            return;
        }

        try
        {
            SetValues(name, TensorData.FromProto(tensor, externalDataDirectory).ToInt64Array());
        }
        catch (Exception ex) when (ex is OnnxFormatException or NotSupportedException or OverflowException or IOException)
        {
            // Values are only a help for shape computations; without them those nodes report unresolved.
        }
    }
}
