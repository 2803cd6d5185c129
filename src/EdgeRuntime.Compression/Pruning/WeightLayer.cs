using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Pruning;

/// <summary>
/// A Conv, Gemm or MatMul node with a constant weight, viewed as a matrix W [outputs, columns] acting
/// on rows of its input: im2col patches for Conv, feature vectors for Gemm and MatMul. Pruning and
/// reconstruction work on this view and write the result back in the node's own layout.
/// </summary>
public sealed class WeightLayer
{
    private WeightLayer(NodeProto node, string weightName, string? biasName, string outputName, long[] weightDims, bool transposed)
    {
        Node = node;
        WeightName = weightName;
        BiasName = biasName;
        OutputName = outputName;
        WeightDims = weightDims;
        Transposed = transposed;
    }

    public NodeProto Node { get; }
    public string Name => Node.Name.Length > 0 ? Node.Name : Node.Output[0];
    public string OpType => Node.OpType;
    public string InputName => Node.Input[0];
    public string WeightName { get; }
    /// <summary>A bias initializer: the node's own (Conv, Gemm) or that of the Add right after a MatMul.</summary>
    public string? BiasName { get; }
    /// <summary>The tensor holding W·x + bias (the Add's output for MatMul + Add).</summary>
    public string OutputName { get; }
    public long[] WeightDims { get; }
    /// <summary>True when the stored weight is [columns, outputs] (MatMul, Gemm without transB).</summary>
    public bool Transposed { get; }

    public int Outputs => (int)(OpType == "Conv" ? WeightDims[0] : Transposed ? WeightDims[1] : WeightDims[0]);
    public int Columns => (int)(WeightDims.Aggregate(1L, (a, b) => a * b) / Outputs);

    /// <summary>The layer view of a node, or null with the reason it has none.</summary>
    public static WeightLayer? TryCreate(OnnxGraph graph, NodeProto node, out string? reason)
    {
        reason = null;
        switch (node.OpType)
        {
            case "Conv":
            {
                if (node.Input.Count < 2 || !IsFloatInitializer(graph, node.Input[1]))
                {
                    reason = "weight is not a float initializer";
                    return null;
                }
                if (node.GetInt("group", 1) != 1)
                {
                    reason = "grouped convolution";
                    return null;
                }
                string autoPad = node.GetString("auto_pad", "NOTSET");
                if (autoPad is not ("NOTSET" or "VALID"))
                {
                    reason = $"auto_pad {autoPad}";
                    return null;
                }
                var dims = graph.FindInitializer(node.Input[1])!.Dims.ToArray();
                if (dims.Length != 4)
                {
                    reason = "only 2-D convolutions are handled";
                    return null;
                }
                string? bias = node.Input.Count > 2 && node.Input[2].Length > 0 ? node.Input[2] : null;
                if (bias is not null && !IsFloatInitializer(graph, bias))
                {
                    reason = "bias is not a float initializer";
                    return null;
                }
                return new WeightLayer(node, node.Input[1], bias, node.Output[0], dims, transposed: false);
            }
            case "Gemm":
            {
                if (node.Input.Count < 2 || !IsFloatInitializer(graph, node.Input[1]))
                {
                    reason = "weight is not a float initializer";
                    return null;
                }
                if (node.GetInt("transA", 0) != 0 || node.GetFloat("alpha", 1f) != 1f || node.GetFloat("beta", 1f) != 1f)
                {
                    reason = "transA, alpha or beta differ from the plain linear layer";
                    return null;
                }
                var dims = graph.FindInitializer(node.Input[1])!.Dims.ToArray();
                bool transposed = node.GetInt("transB", 0) == 0;
                string? bias = node.Input.Count > 2 && node.Input[2].Length > 0 ? node.Input[2] : null;
                if (bias is not null && (!IsFloatInitializer(graph, bias) || ElementCount(graph, bias) != (transposed ? dims[1] : dims[0])))
                {
                    reason = "bias is not a per-output float initializer";
                    return null;
                }
                return new WeightLayer(node, node.Input[1], bias, node.Output[0], dims, transposed);
            }
            case "MatMul":
            {
                if (!IsFloatInitializer(graph, node.Input[1]))
                {
                    reason = "right operand is not a float initializer";
                    return null;
                }
                var dims = graph.FindInitializer(node.Input[1])!.Dims.ToArray();
                if (dims.Length != 2)
                {
                    reason = "weight is not a matrix";
                    return null;
                }
                string? bias = null;
                string output = node.Output[0];
                var consumers = graph.GetConsumers(output);
                if (consumers.Count == 1 && consumers[0].OpType == "Add" && !graph.IsGraphOutput(output))
                {
                    var add = consumers[0];
                    string other = add.Input[0] == output ? add.Input[1] : add.Input[0];
                    if (IsFloatInitializer(graph, other) && ElementCount(graph, other) == dims[1] && graph.FindInitializer(other)!.Dims.Count == 1)
                    {
                        bias = other;
                        output = add.Output[0];
                    }
                }
                return new WeightLayer(node, node.Input[1], bias, output, dims, transposed: true);
            }
            default:
                reason = $"{node.OpType} has no weight matrix";
                return null;
        }
    }

    /// <summary>Every layer of the graph that has a weight matrix, in topological order.</summary>
    public static List<WeightLayer> FindAll(OnnxGraph graph) =>
        [.. graph.TopologicalOrder().Select(n => TryCreate(graph, n, out _)).OfType<WeightLayer>()];

    /// <summary>W as [outputs, columns], row-major.</summary>
    public float[] ReadMatrix(OnnxGraph graph)
    {
        var values = graph.GetInitializerData(WeightName).ToFloatArray();
        return Transposed ? Transpose(values, Columns, Outputs) : values;
    }

    public void WriteMatrix(OnnxGraph graph, float[] matrix)
    {
        var stored = Transposed ? Transpose(matrix, Outputs, Columns) : matrix;
        graph.SetInitializer(WeightName, TensorData.Create(stored, WeightDims));
    }

    public float[]? ReadBias(OnnxGraph graph) => BiasName is null ? null : graph.GetInitializerData(BiasName).ToFloatArray();

    /// <summary>Writes the bias, adding one (a Conv or Gemm input) when the layer had none; MatMul without an Add keeps none.</summary>
    public bool WriteBias(OnnxGraph graph, float[] bias)
    {
        if (BiasName is not null)
        {
            var dims = graph.FindInitializer(BiasName)!.Dims.ToArray();
            graph.SetInitializer(BiasName, TensorData.Create(bias, dims));
            return true;
        }
        if (OpType is "Conv" or "Gemm")
        {
            string name = graph.UniqueName($"{Name}.bias");
            graph.AddInitializer(TensorData.Vector(bias).ToProto(name));
            while (Node.Input.Count < 2)
            {
                Node.Input.Add("");
            }
            if (Node.Input.Count == 2)
            {
                Node.Input.Add(name);
            }
            else
            {
                Node.Input[2] = name;
            }
            graph.Invalidate();
            return true;
        }
        return false;
    }

    /// <summary>
    /// Writes the rows the layer multiplies for a batch of its input (im2col patches for Conv) into
    /// <paramref name="rows"/>, each row <see cref="Columns"/> long; returns the row count.
    /// </summary>
    public int ExtractRows(ReadOnlySpan<float> input, long[] shape, ref float[] rows)
    {
        if (OpType != "Conv")
        {
            int count = (int)(shape.Aggregate(1L, (a, b) => a * b) / Columns);
            if (shape[^1] != Columns && !(OpType == "Gemm" && shape.Length == 2 && shape[1] == Columns))
            {
                throw new InvalidOperationException($"layer {Name}: input of shape [{string.Join(",", shape)}] does not have {Columns} features");
            }
            EnsureLength(ref rows, count * Columns);
            input[..(count * Columns)].CopyTo(rows);
            return count;
        }
        var geometry = ConvGeometry(shape);
        int channels = (int)shape[1], height = (int)shape[2], width = (int)shape[3];
        int positions = geometry.OutHeight * geometry.OutWidth;
        int total = (int)shape[0] * positions;
        EnsureLength(ref rows, total * Columns);
        int kh = (int)WeightDims[2], kw = (int)WeightDims[3];
        for (int b = 0; b < shape[0]; b++)
        {
            for (int oy = 0; oy < geometry.OutHeight; oy++)
            {
                for (int ox = 0; ox < geometry.OutWidth; ox++)
                {
                    var row = rows.AsSpan(((b * positions) + oy * geometry.OutWidth + ox) * Columns, Columns);
                    int k = 0;
                    for (int c = 0; c < channels; c++)
                    {
                        int plane = (b * channels + c) * height * width;
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int y = oy * geometry.StrideY - geometry.PadTop + ky * geometry.DilationY;
                            for (int kx = 0; kx < kw; kx++, k++)
                            {
                                int x = ox * geometry.StrideX - geometry.PadLeft + kx * geometry.DilationX;
                                row[k] = y >= 0 && y < height && x >= 0 && x < width ? input[plane + y * width + x] : 0f;
                            }
                        }
                    }
                }
            }
        }
        return total;
    }

    /// <summary>
    /// Rows of the layer's output (one per sample, or per sample and position for Conv), each
    /// <see cref="Outputs"/> long, in the same order as <see cref="ExtractRows"/>.
    /// </summary>
    public static int OutputRows(ReadOnlySpan<float> output, long[] shape, bool channelsFirst, ref float[] rows)
    {
        if (!channelsFirst)
        {
            int width = (int)shape[^1];
            int count = (int)(output.Length / width);
            EnsureLength(ref rows, output.Length);
            output.CopyTo(rows);
            return count;
        }
        int batch = (int)shape[0], channels = (int)shape[1];
        int positions = (int)(shape.Skip(2).Aggregate(1L, (a, b) => a * b));
        EnsureLength(ref rows, batch * positions * channels);
        for (int b = 0; b < batch; b++)
        {
            for (int c = 0; c < channels; c++)
            {
                var plane = output.Slice((b * channels + c) * positions, positions);
                for (int p = 0; p < positions; p++)
                {
                    rows[(b * positions + p) * channels + c] = plane[p];
                }
            }
        }
        return batch * positions;
    }

    private (int OutHeight, int OutWidth, int StrideY, int StrideX, int PadTop, int PadLeft, int DilationY, int DilationX) ConvGeometry(long[] shape)
    {
        long[] strides = Node.GetInts("strides", [1, 1]);
        long[] pads = Node.GetInts("pads", [0, 0, 0, 0]);
        long[] dilations = Node.GetInts("dilations", [1, 1]);
        int kh = (int)WeightDims[2], kw = (int)WeightDims[3];
        int outHeight = (int)((shape[2] + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) / strides[0] + 1);
        int outWidth = (int)((shape[3] + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) / strides[1] + 1);
        return (outHeight, outWidth, (int)strides[0], (int)strides[1], (int)pads[0], (int)pads[1], (int)dilations[0], (int)dilations[1]);
    }

    private static void EnsureLength(ref float[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new float[length];
        }
    }

    private static float[] Transpose(float[] values, int rows, int columns)
    {
        var result = new float[values.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                result[c * rows + r] = values[r * columns + c];
            }
        }
        return result;
    }

    private static bool IsFloatInitializer(OnnxGraph graph, string name) =>
        graph.FindInitializer(name) is { } tensor && (OnnxDataType)tensor.DataType == OnnxDataType.Float;

    private static long ElementCount(OnnxGraph graph, string name) =>
        graph.FindInitializer(name)!.Dims.Aggregate(1L, (a, b) => a * b);
}
