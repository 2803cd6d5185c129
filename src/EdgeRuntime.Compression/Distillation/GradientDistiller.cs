using System.ComponentModel.DataAnnotations;
using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Data;
using EdgeRuntime.Onnx;
using EdgeRuntime.Tensors;
using Onnx;

namespace EdgeRuntime.Compression.Distillation;

/// <summary>Options for <see cref="GradientDistiller"/>.</summary>
public sealed record GradientDistillOptions
{
    /// <summary>Passes over the calibration samples not held out.</summary>
    [Range(1, 10_000)]
    public int Epochs { get; init; } = 8;

    /// <summary>Adam's step size at the start; it decays to zero along a cosine.</summary>
    [Range(1e-7, 1.0)]
    public double LearningRate { get; init; } = 3e-4;

    [Range(1, 4096)]
    public int BatchSize { get; init; } = 32;

    /// <summary>Fraction of the calibration samples kept out of training to pick the best epoch (none below four batches of samples).</summary>
    [Range(0.0, 0.5)]
    public double HoldOut { get; init; } = 0.125;

    /// <summary>Weights that are zero stay zero (unstructured sparsity is kept).</summary>
    public bool KeepZeros { get; init; }

    /// <summary>The tensor to match; default: the first output, or the logits under a final Softmax.</summary>
    public string? Target { get; init; }

    /// <summary>
    /// With logits as the target: match the teacher's softmax softened by this temperature (cross-entropy,
    /// Hinton's soft targets). Its gradient fades where both models are sure, so the training goes to the
    /// inputs near the decision (PP-OCR classifier, 30% pruned: 94.0% agreement at 1, 93.4% at 2, 93.8% for
    /// squared logit error). Null: squared error of the logits without the shift a softmax ignores.
    /// </summary>
    [Range(0.05, 100.0)]
    public double? Temperature { get; init; } = 1;

    public ulong Seed { get; init; } = 1;

    public void Validate() => Validator.ValidateObject(this, new ValidationContext(this), validateAllProperties: true);
}

/// <summary>What a gradient distillation did, for the variant's manifest and the command's report.</summary>
/// <param name="HeldOutLoss">Mean loss per held-out sample before training (index 0) and after each epoch.</param>
public sealed record GradientDistillReport(
    string Target,
    int Parameters,
    long Weights,
    int TrainingSamples,
    int HeldOutSamples,
    int Steps,
    IReadOnlyList<double> TrainingLoss,
    IReadOnlyList<double> HeldOutLoss,
    int BestEpoch)
{
    public string Describe() =>
        $"gradient distillation of '{Target}' to the teacher ({Parameters} tensors, {Weights:N0} weights, {TrainingSamples} samples, {Steps} Adam steps): " +
        (HeldOutSamples > 0
            ? $"held-out loss {HeldOutLoss[0]:G4} -> {HeldOutLoss[BestEpoch]:G4} (epoch {BestEpoch} kept)"
            : $"training loss {TrainingLoss[0]:G4} -> {TrainingLoss[^1]:G4}");
}

/// <summary>
/// Knowledge distillation by gradient descent on calibration data, with no training framework: the student's
/// inference graph is differentiated into ONNX ops (<see cref="BackwardGraphBuilder"/>), ONNX Runtime computes
/// the gradients of the squared error between the student's and the teacher's logits, and Adam updates the
/// weights here. After a layer-wise least-squares refit this recovers what no single layer's fit can: errors
/// that compound through the nonlinear layers below. The best epoch on held-out calibration samples is kept,
/// so the student never ends worse than it started on data it was not trained on.
/// </summary>
public static class GradientDistiller
{
    /// <summary>Trains <paramref name="student"/>'s weights in place.</summary>
    public static GradientDistillReport Distill(OnnxModel student, OnnxModel teacher, CalibrationData data, GradientDistillOptions options, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        string target = options.Target ?? DefaultTarget(student);
        if (teacher.Graph.GetProducer(target) is null)
        {
            throw new ArgumentException($"the teacher has no tensor '{target}' to distil from");
        }
        var parameters = TrainableParameters(student.Graph);
        var samples = SampleSet.Read(data, teacher, target);
        int batch = Math.Min(options.BatchSize, samples.Count);
        int heldOutBatches = samples.Count >= 4 * batch ? (int)Math.Round(options.HoldOut * samples.Count / batch) : 0;
        int heldOut = heldOutBatches * batch;
        int training = samples.Count - heldOut;
        if (training < batch)
        {
            throw new ArgumentException($"gradient distillation needs at least {batch} calibration samples, got {samples.Count}");
        }

        bool logits = options.Target is null && target != student.Graph.Outputs[0].Name;
        var objective = !logits ? DistillationLoss.SquaredError
            : options.Temperature is { } temperature ? new DistillationLoss(DistillationLossKind.SoftTargets, temperature)
            : new DistillationLoss(DistillationLossKind.CenteredSquaredError);
        var backward = BackwardGraphBuilder.Build(TrainingForm(student), target, parameters, samples.Batch(null, Enumerable.Range(0, batch).ToArray(), batch), objective);
        var dims = backward.GradientOutputs.Keys.ToDictionary(name => name, name => student.Graph.GetInitializerData(name).Dims.ToArray(), StringComparer.Ordinal);
        var values = dims.Keys.ToDictionary(name => name, name => student.Graph.GetInitializerData(name).ToFloatArray(), StringComparer.Ordinal);
        var masks = options.KeepZeros
            ? values.ToDictionary(p => p.Key, p => p.Value.Select(v => v != 0f).ToArray(), StringComparer.Ordinal)
            : null;
        var optimizer = new Adam(values, options.LearningRate);
        // Views of the arrays Adam updates in place: fed as they are at every step.
        var weightInputs = values.Select(p => NamedTensor.FromArray(p.Key, p.Value, dims[p.Key])).ToList();
        log?.Invoke($"distilling '{target}': {values.Count} weight tensors, {training} samples, {heldOut} held out, batch {batch}");

        using var scratch = ScratchRuntime.Open(backward.Model);
        var runtime = scratch.Runtime;
        var order = Enumerable.Range(0, training).ToArray();
        var random = new DeterministicRandom(options.Seed);
        int stepsPerEpoch = training / batch, totalSteps = stepsPerEpoch * options.Epochs;
        var trainingLoss = new List<double>();
        var heldOutLoss = new List<double>();
        var best = values.ToDictionary(p => p.Key, p => (float[])p.Value.Clone(), StringComparer.Ordinal);
        int bestEpoch = 0;
        if (heldOut > 0)
        {
            heldOutLoss.Add(Evaluate(runtime, backward, samples, training, heldOutBatches, batch, weightInputs));
        }
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            Shuffle(order, random);
            double sum = 0;
            for (int step = 0; step < stepsPerEpoch; step++)
            {
                var inputs = samples.Batch(backward.TargetInput, order.AsSpan(step * batch, batch), batch);
                inputs.AddRange(weightInputs);
                var result = runtime.Run(inputs).Outputs;
                sum += result.Single(o => o.Name == backward.LossOutput).AsSpan<float>()[0];
                var gradients = result.Where(o => o.Name != backward.LossOutput).ToDictionary(o => o.Name, StringComparer.Ordinal);
                double rate = 0.5 * (1 + Math.Cos(Math.PI * optimizer.Steps / totalSteps));
                optimizer.Step(name => gradients[backward.GradientOutputs[name]].AsSpan<float>(), rate);
                if (masks is not null)
                {
                    foreach (var (name, mask) in masks)
                    {
                        var weight = values[name];
                        for (int i = 0; i < weight.Length; i++)
                        {
                            weight[i] = mask[i] ? weight[i] : 0f;
                        }
                    }
                }
            }
            trainingLoss.Add(sum / (stepsPerEpoch * batch));
            string line = $"epoch {epoch}/{options.Epochs}: training loss {trainingLoss[^1]:G4}";
            if (heldOut > 0)
            {
                heldOutLoss.Add(Evaluate(runtime, backward, samples, training, heldOutBatches, batch, weightInputs));
                line += $", held out {heldOutLoss[^1]:G4}";
                if (heldOutLoss[^1] < heldOutLoss[bestEpoch])
                {
                    bestEpoch = epoch;
                    foreach (var (name, weight) in values)
                    {
                        weight.CopyTo(best[name], 0);
                    }
                }
            }
            log?.Invoke(line);
        }
        var kept = heldOut > 0 ? best : values;
        foreach (var (name, weight) in kept)
        {
            student.Graph.SetInitializer(name, TensorData.Create(weight, dims[name]));
        }
        return new GradientDistillReport(target, values.Count, values.Values.Sum(v => (long)v.Length), training, heldOut, totalSteps,
            trainingLoss, heldOutLoss, heldOut > 0 ? bestEpoch : options.Epochs);
    }

    // Older opsets lack ops the backward graph needs (ScatterElements, Clip's tensor bounds): train on an exact
    // upgrade to opset 13, which keeps every tensor and weight name, and write the weights back into the original.
    private static OnnxModel TrainingForm(OnnxModel student)
    {
        if ((student.OpsetFor("") ?? OnnxModel.DefaultOpsetVersion) >= 13)
        {
            return student;
        }
        try
        {
            var upgraded = Opset.OpsetUpgrader.Upgrade(student, 13).Model;
            upgraded.Graph.ConvertConstantNodes();
            return upgraded;
        }
        catch (Opset.OpsetUpgradeException)
        {
            return student;
        }
    }

    /// <summary>The first output, or the input of the Softmax that makes it: logits carry what probabilities saturate.</summary>
    public static string DefaultTarget(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        string output = model.Graph.Outputs[0].Name;
        return model.Graph.GetProducer(output) is { OpType: "Softmax" or "LogSoftmax" } softmax ? softmax.Input[0] : output;
    }

    /// <summary>Float initializers that are layer weights: convolution and matrix weights and biases, normalization scales and shifts.</summary>
    public static IReadOnlyList<string> TrainableParameters(OnnxGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var names = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            int[] slots = node.OpType switch
            {
                "Conv" or "Gemm" or "BatchNormalization" => [1, 2],
                "MatMul" or "Add" => [0, 1],
                _ => [],
            };
            foreach (int slot in slots.Where(s => s < node.Input.Count))
            {
                string name = node.Input[slot];
                if (graph.FindInitializer(name) is { } tensor && (OnnxDataType)tensor.DataType == OnnxDataType.Float
                    && (node.OpType != "Add" || TensorShapes.ElementCount([.. tensor.Dims]) > 1) && seen.Add(name))
                {
                    names.Add(name);
                }
            }
        }
        return names;
    }

    private static double Evaluate(Inference.ModelRuntime runtime, BackwardGraph backward, SampleSet samples, int start, int batches, int batch,
        IReadOnlyList<NamedTensor> weightInputs)
    {
        double sum = 0;
        var indices = Enumerable.Range(start, batches * batch).ToArray();
        for (int b = 0; b < batches; b++)
        {
            var inputs = samples.Batch(backward.TargetInput, indices.AsSpan(b * batch, batch), batch);
            inputs.AddRange(weightInputs);
            sum += runtime.Run(inputs).Outputs.Single(o => o.Name == backward.LossOutput).AsSpan<float>()[0];
        }
        return sum / (batches * batch);
    }

    private static void Shuffle(int[] order, DeterministicRandom random)
    {
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    /// <summary>Adam with bias correction; the rate factor scales the step (cosine schedule).</summary>
    private sealed class Adam(Dictionary<string, float[]> parameters, double learningRate)
    {
        private const double Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8;
        private readonly Dictionary<string, (float[] First, float[] Second)> _moments =
            parameters.ToDictionary(p => p.Key, p => (new float[p.Value.Length], new float[p.Value.Length]), StringComparer.Ordinal);

        public int Steps { get; private set; }

        public delegate ReadOnlySpan<float> GradientOf(string name);

        public void Step(GradientOf gradientOf, double rate)
        {
            Steps++;
            double correction1 = 1 - Math.Pow(Beta1, Steps), correction2 = 1 - Math.Pow(Beta2, Steps);
            float step = (float)(learningRate * rate * Math.Sqrt(correction2) / correction1);
            foreach (var (name, weight) in parameters)
            {
                var gradient = gradientOf(name);
                var (first, second) = _moments[name];
                for (int i = 0; i < weight.Length; i++)
                {
                    float g = gradient[i];
                    first[i] = (float)(Beta1 * first[i] + (1 - Beta1) * g);
                    second[i] = (float)(Beta2 * second[i] + (1 - Beta2) * g * g);
                    weight[i] -= step * first[i] / (MathF.Sqrt(second[i]) + (float)Epsilon);
                }
            }
        }
    }

    /// <summary>Every calibration sample's inputs and the teacher's target, in memory for shuffled batches.</summary>
    private sealed class SampleSet
    {
        private readonly List<(string Name, ElementType Type, long[] SampleShape, byte[] Bytes)> _inputs = [];
        private float[] _targets = [];
        private long[] _targetShape = [];

        public int Count { get; private set; }

        public static SampleSet Read(CalibrationData data, OnnxModel teacher, string target)
        {
            var set = new SampleSet();
            var parts = new Dictionary<string, List<byte[]>>(StringComparer.Ordinal);
            foreach (var batch in data.Batches())
            {
                foreach (var tensor in batch)
                {
                    if (!parts.TryGetValue(tensor.Name, out var list))
                    {
                        parts[tensor.Name] = list = [];
                        set._inputs.Add((tensor.Name, tensor.ElementType, tensor.Shape[1..], []));
                    }
                    list.Add(tensor.Data.ToArray());
                }
                set.Count += (int)batch[0].Shape[0];
            }
            for (int i = 0; i < set._inputs.Count; i++)
            {
                set._inputs[i] = set._inputs[i] with { Bytes = [.. parts[set._inputs[i].Name].SelectMany(b => b)] };
            }
            var targets = new List<float>();
            ActivationStream.Run([new ObservedModel(teacher, [target])], data, views =>
            {
                var tensor = views[0][target];
                set._targetShape = tensor.Shape[1..];
                targets.AddRange(tensor.AsSpan<float>());
            });
            set._targets = [.. targets];
            if (set._targets.Length != set.Count * TensorShapes.ElementCount(set._targetShape))
            {
                throw new InvalidOperationException($"the teacher's '{target}' does not have one row per calibration sample");
            }
            return set;
        }

        /// <summary>The inputs (and the target under <paramref name="targetName"/>, if given) of the samples at <paramref name="indices"/>.</summary>
        public List<NamedTensor> Batch(string? targetName, ReadOnlySpan<int> indices, int batch)
        {
            var tensors = new List<NamedTensor>();
            foreach (var (name, type, sampleShape, bytes) in _inputs)
            {
                int size = bytes.Length / Count;
                var buffer = new byte[size * batch];
                for (int i = 0; i < batch; i++)
                {
                    bytes.AsSpan(indices[i] * size, size).CopyTo(buffer.AsSpan(i * size));
                }
                tensors.Add(new NamedTensor(name, type, [batch, .. sampleShape], buffer));
            }
            if (targetName is not null)
            {
                int size = (int)TensorShapes.ElementCount(_targetShape);
                var buffer = new float[size * batch];
                for (int i = 0; i < batch; i++)
                {
                    _targets.AsSpan(indices[i] * size, size).CopyTo(buffer.AsSpan(i * size));
                }
                tensors.Add(NamedTensor.FromArray(targetName, buffer, [batch, .. _targetShape]));
            }
            return tensors;
        }
    }
}
