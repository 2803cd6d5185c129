using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Numerics;
using EdgeRuntime.Onnx;
using EdgeRuntime.Tensors;
using Onnx;

namespace EdgeRuntime.Compression.Distillation;

/// <summary>A depthwise convolution to refit, with the teacher channel behind each of its channels (all, in order, when null).</summary>
public sealed record DepthwiseRequest(NodeProto Node, IReadOnlyList<int>? KeptChannels);

/// <summary>
/// Refits depthwise convolutions (group = channels, weight [C, 1, kh, kw]) to the teacher's outputs: each
/// channel's kernel and bias is its own small least-squares problem over the k·k input patches at every
/// output position, fed the student's own inputs; the ridge is pulled towards the current kernel.
/// </summary>
public static class DepthwiseReconstructor
{
    /// <summary>Whether <paramref name="node"/> is a depthwise convolution this class can refit.</summary>
    public static bool IsDepthwise(OnnxGraph graph, NodeProto node)
    {
        if (node.OpType != "Conv" || node.Input.Count < 2 || graph.FindInitializer(node.Input[1]) is not { } weight
            || weight.Dims.Count != 4 || weight.Dims[1] != 1 || (OnnxDataType)weight.DataType != OnnxDataType.Float)
        {
            return false;
        }
        return node.GetInt("group", 1) == weight.Dims[0] && weight.Dims[0] > 1
            && node.GetString("auto_pad", "NOTSET") is "NOTSET" or "VALID"
            && (node.Input.Count < 3 || node.Input[2].Length == 0 || graph.IsInitializer(node.Input[2]));
    }

    /// <returns>The number of convolutions refitted.</returns>
    public static int Refit(OnnxModel student, OnnxModel teacher, IReadOnlyList<DepthwiseRequest> requests, CalibrationData data, double damping, string? workDirectory = null)
    {
        if (requests.Count == 0)
        {
            return 0;
        }
        var graph = student.Graph;
        var plans = requests.Select(r => new Plan(graph, r)).ToList();
        var models = new List<ObservedModel>
        {
            new(student, plans.Select(p => p.Node.Input[0]).ToHashSet(StringComparer.Ordinal)),
            new(teacher, plans.Select(p => p.Node.Output[0]).ToHashSet(StringComparer.Ordinal)),
        };
        ActivationStream.Run(models, data, views =>
        {
            foreach (var plan in plans)
            {
                var input = views[0][plan.Node.Input[0]];
                var output = views[1][plan.Node.Output[0]];
                plan.Add(input.AsSpan<float>().ToArray(), input.Shape, output.AsSpan<float>().ToArray(), output.Shape);
            }
        }, workDirectory);
        foreach (var plan in plans)
        {
            plan.Solve(graph, damping);
        }
        return plans.Count;
    }

    private sealed class Plan
    {
        private readonly int _channels, _kh, _kw, _strideY, _strideX, _padTop, _padLeft, _dilationY, _dilationX;
        private readonly string? _biasName;
        private readonly int[] _teacherChannels;
        private readonly GramAccumulator[] _statistics;

        public Plan(OnnxGraph graph, DepthwiseRequest request)
        {
            Node = request.Node;
            if (!IsDepthwise(graph, Node))
            {
                throw new ArgumentException($"Conv '{Node.Name}' is not a depthwise convolution with constant float weights");
            }
            var dims = graph.FindInitializer(Node.Input[1])!.Dims;
            _channels = (int)dims[0];
            _kh = (int)dims[2];
            _kw = (int)dims[3];
            long[] strides = Node.GetInts("strides", [1, 1]), pads = Node.GetInts("pads", [0, 0, 0, 0]), dilations = Node.GetInts("dilations", [1, 1]);
            (_strideY, _strideX, _padTop, _padLeft, _dilationY, _dilationX) = ((int)strides[0], (int)strides[1], (int)pads[0], (int)pads[1], (int)dilations[0], (int)dilations[1]);
            _biasName = Node.Input.Count > 2 && Node.Input[2].Length > 0 ? Node.Input[2] : null;
            _teacherChannels = request.KeptChannels is null ? [.. Enumerable.Range(0, _channels)] : [.. request.KeptChannels];
            if (_teacherChannels.Length != _channels)
            {
                throw new ArgumentException($"Conv '{Node.Name}' has {_channels} channels but {_teacherChannels.Length} teacher channels are mapped to it");
            }
            _statistics = [.. Enumerable.Range(0, _channels).Select(_ => new GramAccumulator(_kh * _kw, 1, _biasName is not null))];
        }

        public NodeProto Node { get; }

        public void Add(float[] input, long[] inputShape, float[] target, long[] targetShape)
        {
            int batch = (int)inputShape[0], height = (int)inputShape[2], width = (int)inputShape[3];
            int teacherChannels = (int)targetShape[1], outHeight = (int)targetShape[2], outWidth = (int)targetShape[3];
            if (inputShape[1] != _channels)
            {
                throw new InvalidOperationException($"Conv '{Node.Name}': input has {inputShape[1]} channels, the weight {_channels}");
            }
            int positions = outHeight * outWidth, k = _kh * _kw;
            Parallel.For(0, _channels, c =>
            {
                var rows = new float[batch * positions * k];
                var targets = new float[batch * positions];
                for (int b = 0; b < batch; b++)
                {
                    int plane = (b * _channels + c) * height * width;
                    int targetPlane = (b * teacherChannels + _teacherChannels[c]) * positions;
                    for (int oy = 0; oy < outHeight; oy++)
                    {
                        for (int ox = 0; ox < outWidth; ox++)
                        {
                            int r = b * positions + oy * outWidth + ox;
                            targets[r] = target[targetPlane + oy * outWidth + ox];
                            int t = 0;
                            for (int ky = 0; ky < _kh; ky++)
                            {
                                int y = oy * _strideY - _padTop + ky * _dilationY;
                                for (int kx = 0; kx < _kw; kx++, t++)
                                {
                                    int x = ox * _strideX - _padLeft + kx * _dilationX;
                                    rows[r * k + t] = y >= 0 && y < height && x >= 0 && x < width ? input[plane + y * width + x] : 0f;
                                }
                            }
                        }
                    }
                }
                _statistics[c].Add(rows, batch * positions, targets);
            });
        }

        public void Solve(OnnxGraph graph, double damping)
        {
            int k = _kh * _kw;
            var weight = graph.GetInitializerData(Node.Input[1]);
            var kernels = weight.ToFloatArray();
            var bias = _biasName is null ? null : graph.GetInitializerData(_biasName).ToFloatArray();
            for (int c = 0; c < _channels; c++)
            {
                var statistics = _statistics[c];
                int d = statistics.Dimension;
                var anchor = new double[d];
                for (int t = 0; t < k; t++)
                {
                    anchor[t] = kernels[c * k + t];
                }
                if (bias is not null)
                {
                    anchor[k] = bias[c];
                }
                var solution = (double[])statistics.Cross!.Clone();
                DenseLinearAlgebra.AnchoredRidgeSolve(statistics.Gram, d, solution, 1, damping, anchor);
                for (int t = 0; t < k; t++)
                {
                    kernels[c * k + t] = (float)solution[t];
                }
                if (bias is not null)
                {
                    bias[c] = (float)solution[k];
                }
            }
            graph.SetInitializer(Node.Input[1], TensorData.Create(kernels, [.. weight.Dims]));
            if (bias is not null)
            {
                graph.SetInitializer(_biasName!, TensorData.Create(bias, [_channels]));
            }
        }
    }
}
