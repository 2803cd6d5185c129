using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Distillation;

/// <summary>A BatchNormalization of the student and which teacher channel each of its channels stands for.</summary>
public sealed record NormalizationMapping(NodeProto Node, IReadOnlyList<int> TeacherChannels);

/// <summary>
/// Re-estimates BatchNormalization statistics after pruning: measures the per-channel mean and variance
/// of the normalization's input in student and teacher on calibration data, and rewrites the running
/// mean and variance so the student's normalized output has the teacher's per-channel statistics.
/// With identical inputs nothing changes.
/// </summary>
public static class BatchNormReestimator
{
    public static int Reestimate(OnnxModel student, OnnxModel teacher, IReadOnlyList<NormalizationMapping> normalizations, CalibrationData data, string? workDirectory = null)
    {
        if (normalizations.Count == 0)
        {
            return 0;
        }
        var names = normalizations.Select(n => n.Node.Input[0]).ToHashSet(StringComparer.Ordinal);
        var studentMoments = names.ToDictionary(n => n, _ => (Sum: Array.Empty<double>(), Squares: Array.Empty<double>(), Count: 0L));
        var teacherMoments = names.ToDictionary(n => n, _ => (Sum: Array.Empty<double>(), Squares: Array.Empty<double>(), Count: 0L));
        ActivationStream.Run([new ObservedModel(student, names), new ObservedModel(teacher, names)], data, views =>
        {
            foreach (string name in names)
            {
                Accumulate(studentMoments, name, views[0][name].AsSpan<float>(), views[0][name].Shape);
                Accumulate(teacherMoments, name, views[1][name].AsSpan<float>(), views[1][name].Shape);
            }
        }, workDirectory);
        var graph = student.Graph;
        int updated = 0;
        foreach (var mapping in normalizations)
        {
            var node = mapping.Node;
            var s = studentMoments[node.Input[0]];
            var t = teacherMoments[node.Input[0]];
            var mean = graph.GetInitializerData(node.Input[3]);
            var variance = graph.GetInitializerData(node.Input[4]);
            var means = mean.ToFloatArray();
            var variances = variance.ToFloatArray();
            // The teacher's running statistics, not the student's current ones: a normalization estimated
            // once already must not have its earlier correction applied a second time.
            var original = teacher.Graph.Nodes.FirstOrDefault(n => n.OpType == "BatchNormalization" && n.Output.Count > 0 && n.Output[0] == node.Output[0]);
            var teacherMeans = original is null ? null : teacher.Graph.GetInitializerData(original.Input[3]).ToFloatArray();
            var teacherVariances = original is null ? null : teacher.Graph.GetInitializerData(original.Input[4]).ToFloatArray();
            float epsilon = node.GetFloat("epsilon", 1e-5f);
            for (int c = 0; c < means.Length; c++)
            {
                int tc = mapping.TeacherChannels[c];
                double muS = s.Sum[c] / s.Count, muT = t.Sum[tc] / t.Count;
                double sdS = Math.Sqrt(Math.Max(s.Squares[c] / s.Count - muS * muS, 1e-12));
                double sdT = Math.Sqrt(Math.Max(t.Squares[tc] / t.Count - muT * muT, 1e-12));
                // Map the student's input onto the teacher's distribution, then fold that map into the running statistics.
                double ratio = sdS / sdT;
                double runningMean = teacherMeans?[tc] ?? means[c], runningVariance = teacherVariances?[tc] ?? variances[c];
                means[c] = (float)(muS - (muT - runningMean) * ratio);
                variances[c] = (float)(ratio * ratio * (runningVariance + epsilon) - epsilon);
            }
            graph.SetInitializer(node.Input[3], TensorData.Create(means, [.. mean.Dims]));
            graph.SetInitializer(node.Input[4], TensorData.Create(variances, [.. variance.Dims]));
            updated++;
        }
        return updated;
    }

    private static void Accumulate(Dictionary<string, (double[] Sum, double[] Squares, long Count)> moments, string name, ReadOnlySpan<float> values, long[] shape)
    {
        int channels = (int)shape[1];
        int plane = (int)(shape.Skip(2).Aggregate(1L, (a, b) => a * b));
        var (sum, squares, count) = moments[name];
        if (sum.Length == 0)
        {
            sum = new double[channels];
            squares = new double[channels];
        }
        for (int b = 0; b < shape[0]; b++)
        {
            for (int c = 0; c < channels; c++)
            {
                var slice = values.Slice((b * channels + c) * plane, plane);
                double s = 0, q = 0;
                foreach (float v in slice)
                {
                    s += v;
                    q += v * (double)v;
                }
                sum[c] += s;
                squares[c] += q;
            }
        }
        moments[name] = (sum, squares, count + shape[0] * plane);
    }
}
