using EdgeRuntime.Bundles;
using EdgeRuntime.Compression.Distillation;
using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Inference;
using EdgeRuntime.Onnx;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Compression.Tests;

/// <summary>
/// Gradients of the ONNX backward graph against finite differences of the forward model, run by ONNX
/// Runtime, on a network that uses every differentiated op; and gradient distillation of a pruned student.
/// </summary>
public sealed class BackwardGraphTests
{
    private const int Batch = 3;

    [Theory]
    [InlineData(DistillationLossKind.SquaredError)]
    [InlineData(DistillationLossKind.CenteredSquaredError)]
    [InlineData(DistillationLossKind.SoftTargets)]
    public void Every_parameters_gradient_matches_finite_differences_of_the_loss(DistillationLossKind kind)
    {
        var model = EveryOpNetwork();
        float[] x = Ort.RandomValues(Batch * 4 * 8 * 8, seed: 5);
        float[] target = Ort.RandomValues(Batch * 5, seed: 6, -2, 2);
        var parameters = GradientDistiller.TrainableParameters(model.Graph);
        var backward = BackwardGraphBuilder.Build(model, "logits", parameters, [NamedTensor.FromArray("x", x, Batch, 4, 8, 8)],
            new DistillationLoss(kind, Temperature: 2));

        Assert.Equal(parameters.Count, backward.GradientOutputs.Count);
        var weights = parameters.ToDictionary(p => p, p => model.Graph.GetInitializerData(p).ToFloatArray());
        var dims = parameters.ToDictionary(p => p, p => model.Graph.GetInitializerData(p).Dims.Select(d => (int)d).ToArray());
        using var session = new TrainingSession(backward, x, target, dims);
        var (loss, gradients) = session.Run(weights);
        Assert.True(loss > 0);
        // The graph reports half the gradient of a sum of squares, and the cross-entropy's gradient times the temperature.
        double reported = kind == DistillationLossKind.SoftTargets ? 2.0 : 0.5;
        var mismatches = new List<string>();
        foreach (string name in parameters)
        {
            float[] gradient = gradients[name];
            double squaredNorm = gradient.Sum(g => (double)g * g);
            Assert.True(squaredNorm > 0, $"{name} got no gradient");
            // Central difference of the loss along the gradient: d/de L(w + e g) = g . dL/dw. The step moves the loss
            // by about 0.1% (well above float32 rounding) but the weights by at most 0.1% (inside the linear pieces of the activations).
            float[] original = weights[name];
            double weightNorm = Math.Sqrt(original.Sum(w => (double)w * w));
            double step = Math.Min(1e-3 * loss / squaredNorm, 1e-3 * weightNorm / Math.Sqrt(squaredNorm));
            weights[name] = [.. original.Select((w, i) => (float)(w + step * gradient[i]))];
            double up = session.Run(weights).Loss;
            weights[name] = [.. original.Select((w, i) => (float)(w - step * gradient[i]))];
            double down = session.Run(weights).Loss;
            weights[name] = original;
            double numeric = (up - down) / (2 * step);
            double expected = squaredNorm / reported;
            // 3%, plus what float32 rounding of the two losses can make of their difference.
            double rounding = 1e-6 * loss / step;
            if (Math.Abs(numeric - expected) > 0.03 * expected + rounding)
            {
                mismatches.Add($"{name}: directional derivative {numeric:G5} by finite differences, {expected:G5} from the backward graph");
            }
        }
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    [Fact]
    public void An_op_without_a_gradient_on_the_path_is_refused_by_name()
    {
        var model = EveryOpNetwork();
        var graph = model.Graph;
        var gap = graph.Nodes.First(n => n.OpType == "GlobalAveragePool" && n.Output[0] == "pooled");
        graph.AddNode(GraphNodes.Create("LRN", [gap.Input[0]], ["normalized"], "local_response").SetInt("size", 3));
        graph.SetNodeInput(gap, 0, "normalized");
        graph.SortTopologically();

        var error = Assert.Throws<NotSupportedException>(() => BackwardGraphBuilder.Build(model, "logits", GradientDistiller.TrainableParameters(graph),
            [NamedTensor.FromArray("x", Ort.RandomValues(Batch * 4 * 8 * 8, 1), Batch, 4, 8, 8)]));
        Assert.Contains("local_response", error.Message);
        Assert.Contains("LRN", error.Message);
    }

    [Fact]
    public void Distillation_brings_a_pruned_student_closer_to_its_teacher_on_samples_it_never_saw()
    {
        using var temp = new TempDirectory();
        var teacher = TestModels.ConvNet();
        float[] calibration = Ort.RandomValues(256 * 3 * 16 * 16, seed: 21);
        var data = CalibrationData.FromNpy(new Dictionary<string, string> { ["x"] = Ort.SaveNpy(temp.File("x.npy"), calibration, 256, 3, 16, 16) },
            [new TensorSignature("x", ElementType.Float32, [TensorDimension.Symbolic("batch"), TensorDimension.Fixed(3), TensorDimension.Fixed(16), TensorDimension.Fixed(16)])]);
        // No least-squares refit: the student starts far from its teacher.
        var student = StructuredPruner.Prune(teacher, new StructuredPruneOptions { Ratio = 0.5, Criterion = ImportanceCriterion.L1, Reconstruct = false }).Model;
        float[] unseen = Ort.RandomValues(200 * 3 * 16 * 16, seed: 22);
        double before = Error(teacher, student, unseen);

        var report = GradientDistiller.Distill(student, teacher, data, new GradientDistillOptions { Epochs = 6, LearningRate = 3e-3 });

        double after = Error(teacher, student, unseen);
        Assert.Empty(student.Graph.Validate());
        Assert.Equal("y", report.Target);
        Assert.Equal(224, report.TrainingSamples);
        Assert.True(report.HeldOutLoss[report.BestEpoch] < report.HeldOutLoss[0], report.Describe());
        Assert.True(after < 0.8 * before, $"squared error to the teacher on unseen samples: {before:G4} before, {after:G4} after");
    }

    [Fact]
    public void Keep_zeros_leaves_unstructured_sparsity_in_place()
    {
        using var temp = new TempDirectory();
        var teacher = TestModels.Mlp([32, 64, 10]);
        var data = CalibrationData.FromNpy(new Dictionary<string, string> { ["x"] = Ort.SaveNpy(temp.File("x.npy"), Ort.RandomValues(128 * 32, 3), 128, 32) },
            [new TensorSignature("x", ElementType.Float32, [TensorDimension.Symbolic("batch"), TensorDimension.Fixed(32)])]);
        var student = UnstructuredPruner.Prune(teacher, new UnstructuredPruneOptions { Ratio = 0.6 }, data).Model;
        var zeros = student.Graph.Initializers.Where(i => i.Dims.Count == 2)
            .ToDictionary(i => i.Name, i => student.Graph.GetInitializerData(i.Name).ToFloatArray().Select(v => v == 0).ToArray());

        GradientDistiller.Distill(student, teacher, data, new GradientDistillOptions { Epochs = 2, KeepZeros = true, LearningRate = 1e-2 });

        foreach (var (name, wasZero) in zeros)
        {
            float[] now = student.Graph.GetInitializerData(name).ToFloatArray();
            Assert.All(wasZero.Select((zero, i) => (zero, now[i])).Where(p => p.zero), p => Assert.Equal(0f, p.Item2));
            Assert.Contains(wasZero.Select((zero, i) => (zero, now[i])), p => !p.zero && p.Item2 != 0f);
        }
    }

    private static double Error(OnnxModel teacher, OnnxModel student, float[] x)
    {
        int count = x.Length / (3 * 16 * 16);
        float[] expected = Ort.Run(teacher, ("x", x, [count, 3, 16, 16]))["y"];
        float[] actual = Ort.Run(student, ("x", x, [count, 3, 16, 16]))["y"];
        return expected.Zip(actual).Sum(p => (double)(p.First - p.Second) * (p.First - p.Second)) / count;
    }

    /// <summary>
    /// x [3, 4, 8, 8]: strided conv, BatchNormalization, hard-swish made of Add/Clip/Mul/Div, strided depthwise conv, Relu,
    /// squeeze-excitation (GlobalAveragePool, 1x1 convs, HardSigmoid, broadcast Mul), residual Add, LeakyRelu,
    /// MaxPool, Concat with a Sigmoid branch, Transpose, Reshape, MatMul + Add bias, Tanh, Gemm (transposed B),
    /// HardSwish, Sub and Flatten: "logits" [3, 5] under a Softmax.
    /// </summary>
    private static OnnxModel EveryOpNetwork()
    {
        var model = OnnxModel.Create(opsetVersion: 16);
        var graph = model.Graph;
        int seed = 100;
        string Weight(string name, float low, float high, params long[] dims)
        {
            graph.AddInitializer(TensorData.Create(Ort.RandomValues((int)TensorShapes.ElementCount(dims), seed++, low, high), dims).ToProto(name));
            return name;
        }
        // Biases that put some units in the saturated and the linear pieces of the hard activations after them.
        string Vector(string name, params float[] values)
        {
            graph.AddInitializer(TensorData.Vector(values).ToProto(name));
            return name;
        }
        string Const(string name, float value)
        {
            graph.AddInitializer(TensorData.Create(new[] { value }, 1).ToProto(name));
            return name;
        }
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, "batch", 4, 8, 8));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("probabilities", OnnxDataType.Float, "batch", 5));
        graph.AddNode("Conv", ["x", Weight("c1.w", -0.4f, 0.4f, 6, 4, 3, 3), Weight("c1.b", -0.1f, 0.1f, 6)], ["c1"], "c1")
            .SetInts("strides", [2, 1]).SetInts("pads", [1, 1, 1, 1]);
        graph.AddNode("BatchNormalization", ["c1", Weight("bn.scale", 0.5f, 1.5f, 6), Weight("bn.bias", -0.2f, 0.2f, 6), Weight("bn.mean", -0.1f, 0.1f, 6), Weight("bn.var", 0.5f, 1.5f, 6)], ["bn"], "bn");
        graph.AddNode("Add", ["bn", Const("three", 3)], ["shifted"], "shift");
        graph.AddNode("Clip", ["shifted", Const("zero", 0), Const("six", 6)], ["clipped"], "clip");
        graph.AddNode("Mul", ["bn", "clipped"], ["scaled"], "hs_mul");
        graph.AddNode("Div", ["scaled", Const("six_div", 6)], ["hs"], "hs_div");
        graph.AddNode("Conv", ["hs", Weight("dw.w", -0.5f, 0.5f, 6, 1, 3, 3)], ["dw"], "dw").SetInt("group", 6).SetInts("strides", [2, 2]).SetInts("pads", [1, 1, 1, 1]);
        graph.AddNode("Relu", ["dw"], ["dw_relu"], "dw_relu");
        graph.AddNode("GlobalAveragePool", ["dw_relu"], ["squeezed"], "se_pool");
        graph.AddNode("Conv", ["squeezed", Weight("se1.w", -2f, 2f, 3, 6, 1, 1), Vector("se1.b", 0.5f, -0.3f, 0.4f)], ["se1"], "se1");
        graph.AddNode("Relu", ["se1"], ["se1_relu"], "se1_relu");
        graph.AddNode("Conv", ["se1_relu", Weight("se2.w", -2f, 2f, 6, 3, 1, 1), Vector("se2.b", 0.3f, -0.4f, 3.6f, -3.5f, 0.6f, 2f)], ["se2"], "se2");
        graph.AddNode("HardSigmoid", ["se2"], ["gate"], "gate").SetFloat("alpha", 0.2f).SetFloat("beta", 0.5f);
        graph.AddNode("Mul", ["dw_relu", "gate"], ["excited"], "excite");
        graph.AddNode("Conv", ["excited", Weight("pw.w", -0.4f, 0.4f, 6, 6, 1, 1)], ["pw"], "pw");
        graph.AddNode("Add", ["pw", "dw"], ["residual"], "residual");
        graph.AddNode("LeakyRelu", ["residual"], ["leaky"], "leaky").SetFloat("alpha", 0.1f);
        graph.AddNode("MaxPool", ["leaky"], ["pooled_max"], "maxpool").SetInts("kernel_shape", [2, 2]).SetInts("strides", [2, 2]);
        graph.AddNode("Sigmoid", ["pooled_max"], ["sig"], "sig");
        graph.AddNode("Concat", ["pooled_max", "sig"], ["joined"], "concat").SetInt("axis", 1);
        graph.AddNode("GlobalAveragePool", ["joined"], ["pooled"], "gap");
        graph.AddNode("Transpose", ["pooled"], ["pooled_t"], "transpose").SetInts("perm", [0, 2, 3, 1]);
        graph.AddInitializer(TensorData.Vector(new long[] { -1, 12 }).ToProto("flat_shape"));
        graph.AddNode("Reshape", ["pooled_t", "flat_shape"], ["flat"], "reshape");
        graph.AddNode("MatMul", ["flat", Weight("fc1.w", -0.5f, 0.5f, 12, 8)], ["fc1"], "fc1");
        graph.AddNode("Add", ["fc1", Weight("fc1.b", -0.1f, 0.1f, 8)], ["fc1_b"], "fc1_bias");
        graph.AddNode("Tanh", ["fc1_b"], ["fc1_t"], "tanh");
        graph.AddNode("Gemm", ["fc1_t", Weight("fc2.w", -0.6f, 0.6f, 5, 8), Vector("fc2.b", 4f, -4f, 0.5f, 3.5f, -3.5f)], ["fc2"], "fc2").SetInt("transB", 1).SetFloat("alpha", 1.5f);
        graph.AddNode("HardSwish", ["fc2"], ["fc2_hs"], "fc2_hs");
        graph.AddNode("Sub", ["fc2_hs", "fc2"], ["logits_raw"], "sub");
        graph.AddNode("Flatten", ["logits_raw"], ["logits"], "flatten");
        graph.AddNode("Softmax", ["logits"], ["probabilities"], "softmax").SetInt("axis", -1);
        Assert.Empty(graph.Validate());
        return model;
    }

    /// <summary>The backward graph in a plain ONNX Runtime session, fed weights by name.</summary>
    private sealed class TrainingSession(BackwardGraph backward, float[] x, float[] target, Dictionary<string, int[]> dims) : IDisposable
    {
        private readonly Microsoft.ML.OnnxRuntime.InferenceSession _session = new(backward.Model.ToBytes());

        public (double Loss, Dictionary<string, float[]> Gradients) Run(Dictionary<string, float[]> weights)
        {
            var feeds = new List<Microsoft.ML.OnnxRuntime.NamedOnnxValue>
            {
                Feed("x", x, [Batch, 4, 8, 8]),
                Feed(backward.TargetInput, target, [Batch, 5]),
            };
            feeds.AddRange(weights.Select(w => Feed(w.Key, w.Value, dims[w.Key])));
            using var results = _session.Run(feeds);
            var outputs = results.ToDictionary(r => r.Name, r => r.AsEnumerable<float>().ToArray());
            return (outputs[backward.LossOutput][0], backward.GradientOutputs.ToDictionary(g => g.Key, g => outputs[g.Value]));
        }

        public void Dispose() => _session.Dispose();

        private static Microsoft.ML.OnnxRuntime.NamedOnnxValue Feed(string name, float[] values, int[] shape) =>
            Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor(name, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(values, shape));
    }
}
