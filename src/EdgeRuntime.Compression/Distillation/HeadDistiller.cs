using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Distillation;

/// <summary>
/// Head distillation without a training loop: the classifier layer (the Gemm or MatMul producing the
/// model's first output) is refitted by ridge regression on the student's features to the teacher's
/// temperature-softened outputs, the soft-label idea of knowledge distillation.
/// </summary>
/// <remarks>
/// A linear head cannot output probabilities, so the soft labels are taken back to logit scale:
/// T·log softmax(z/T), floored at T·log(<see cref="ProbabilityFloor"/>) and shifted to the teacher's row
/// mean. Unfloored this is the teacher's logits themselves (the high-temperature limit in which
/// distillation matches logits); the floor is where the temperature acts, keeping the fit from spending
/// itself on classes the teacher rules out. Zero weights stay zero.
/// </remarks>
public static class HeadDistiller
{
    public const double ProbabilityFloor = 1e-4;

    public static string Distill(OnnxModel student, OnnxModel teacher, CalibrationData data, double temperature = 4.0, double ridge = LayerReconstructor.DefaultDamping, string? workDirectory = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(temperature, 0);
        var graph = student.Graph;
        string output = graph.Outputs.Count > 0 ? graph.Outputs[0].Name : throw new ArgumentException("the model has no output");
        var head = WeightLayer.FindAll(graph).LastOrDefault(l => l.OutputName == output && l.OpType is "Gemm" or "MatMul")
            ?? throw new ArgumentException($"output '{output}' is not produced by a Gemm or MatMul with constant weights; there is no classifier head to distil");
        var request = new LayerRequest(head, WithTargets: true, WithBias: true) { TransformTargets = (rows, count, width) => Soften(rows, count, width, temperature) };
        var statistics = LayerStatistics.Collect(student, teacher, [request], data, workDirectory)[0];
        bool sparse = head.ReadMatrix(graph).Any(w => w == 0f);
        if (sparse)
        {
            LayerReconstructor.RefitMasked(graph, head, statistics, ridge);
        }
        else
        {
            LayerReconstructor.RefitDense(graph, head, statistics, ridge);
        }
        return $"head distillation: {head.Name} refitted by ridge regression to the teacher's outputs at temperature {temperature:0.##} ({statistics.Rows} samples)";
    }

    internal static void Soften(float[] rows, int count, int width, double temperature)
    {
        double floor = temperature * Math.Log(ProbabilityFloor);
        for (int r = 0; r < count; r++)
        {
            var row = rows.AsSpan(r * width, width);
            double max = double.MinValue, mean = 0;
            foreach (float z in row)
            {
                max = Math.Max(max, z / temperature);
                mean += z;
            }
            mean /= width;
            double sum = 0;
            foreach (float z in row)
            {
                sum += Math.Exp(z / temperature - max);
            }
            double logSum = max + Math.Log(sum);
            double softMean = 0;
            var soft = new double[width];
            for (int i = 0; i < width; i++)
            {
                soft[i] = Math.Max(temperature * (row[i] / temperature - logSum), floor);
                softMean += soft[i];
            }
            softMean /= width;
            for (int i = 0; i < width; i++)
            {
                row[i] = (float)(soft[i] - softMean + mean);
            }
        }
    }
}
