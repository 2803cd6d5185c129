using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>Shape rules of ops that rearrange, cut, join or build tensors (Reshape, Slice, Concat, Gather, Shape, Constant, Resize...), tracking small integer values through them.</summary>
internal sealed partial class ShapeInference
{
    private static IEnumerable<(string[] Ops, Func<ShapeInference, NodeProto, long> Rule)> TensorRules() =>
    [
        (["Flatten"], static (s, n) => s.Flatten(n)),
        (["Reshape"], static (s, n) => s.Reshape(n)),
        (["Transpose"], static (s, n) => s.Transpose(n)),
        (["Concat"], static (s, n) => s.Concat(n)),
        (["Squeeze"], static (s, n) => s.Squeeze(n)),
        (["Unsqueeze"], static (s, n) => s.Unsqueeze(n)),
        (["Shape"], static (s, n) => s.ShapeOp(n)),
        (["Size"], static (s, n) => s.SizeOp(n)),
        (["Gather"], static (s, n) => s.Gather(n)),
        (["Constant"], static (s, n) => s.Constant(n)),
        (["ConstantOfShape"], static (s, n) => s.ConstantOfShape(n)),
        (["Slice"], static (s, n) => s.Slice(n)),
        (["Resize", "Upsample"], static (s, n) => s.Resize(n)),
    ];

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

        SetReshapedOutput(node, output);

        return 0;
    }

    /// <summary>A new shape over the same elements in the same order, so known values pass through unchanged.</summary>
    private void SetReshapedOutput(NodeProto node, long[] output)
    {
        SetOutput(node, 0, output);
        if (_values.TryGetValue(node.Input[0], out var values))
        {
            SetValues(node.Output[0], values);
        }
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

        SetReshapedOutput(node, output);

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
}
