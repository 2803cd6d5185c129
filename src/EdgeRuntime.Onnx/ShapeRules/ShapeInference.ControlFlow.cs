using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>Shape and MAC rules of recurrent ops (LSTM, GRU, RNN) and control flow (If, Loop, Scan), whose bodies are analysed with what the enclosing graph knows.</summary>
internal sealed partial class ShapeInference
{
    private static IEnumerable<(string[] Ops, Func<ShapeInference, NodeProto, long> Rule)> ControlFlowRules() =>
    [
        (["LSTM"], static (s, n) => s.Recurrent(n, 4)),
        (["GRU"], static (s, n) => s.Recurrent(n, 3)),
        (["RNN"], static (s, n) => s.Recurrent(n, 1)),
        (["If"], static (s, n) => s.If(n)),
        (["Loop"], static (s, n) => s.Loop(n)),
        (["Scan"], static (s, n) => s.Scan(n)),
    ];

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
}
