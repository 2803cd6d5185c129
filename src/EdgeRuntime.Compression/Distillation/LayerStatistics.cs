using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Onnx;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Compression.Distillation;

/// <summary>What to accumulate for one layer of the student: X^T X of its inputs and, with a teacher, X^T Y of the teacher's outputs.</summary>
/// <param name="KeptOutputs">Teacher output channels the student layer still has (all when null).</param>
/// <param name="TransformTargets">Rewrites the teacher's target rows in place (rows, count, width) before they are accumulated.</param>
public sealed record LayerRequest(WeightLayer Layer, bool WithTargets, bool WithBias, IReadOnlyList<int>? KeptOutputs = null)
{
    public Action<float[], int, int>? TransformTargets { get; init; }
}

/// <summary>
/// Collects the second-order statistics of several layers in one streamed pass: the student's layer
/// inputs (as im2col rows for Conv) give X^T X; the teacher's output of the same layer, taken on the
/// same batch, gives the targets for least-squares reconstruction.
/// </summary>
public static class LayerStatistics
{
    public static IReadOnlyList<GramAccumulator> Collect(
        OnnxModel student, OnnxModel? teacher, IReadOnlyList<LayerRequest> requests, CalibrationData data, string? workDirectory = null)
    {
        if (requests.Any(r => r.WithTargets) && teacher is null)
        {
            throw new ArgumentException("reconstruction targets need the teacher model");
        }
        var accumulators = requests
            .Select(r => new GramAccumulator(r.Layer.Columns, r.WithTargets ? (r.KeptOutputs?.Count ?? r.Layer.Outputs) : 0, r.WithBias))
            .ToList();
        var studentTensors = requests.Select(r => r.Layer.InputName).ToHashSet(StringComparer.Ordinal);
        var teacherTensors = requests.Where(r => r.WithTargets).Select(r => r.Layer.OutputName).ToHashSet(StringComparer.Ordinal);
        var models = new List<ObservedModel> { new(student, studentTensors) };
        if (teacherTensors.Count > 0)
        {
            models.Add(new ObservedModel(teacher!, teacherTensors));
        }
        var rowBuffers = requests.Select(_ => Array.Empty<float>()).ToArray();
        var targetBuffers = requests.Select(_ => Array.Empty<float>()).ToArray();
        ActivationStream.Run(models, data, views =>
        {
            for (int i = 0; i < requests.Count; i++)
            {
                var request = requests[i];
                var input = views[0][request.Layer.InputName];
                int count = request.Layer.ExtractRows(input.AsSpan<float>(), input.Shape, ref rowBuffers[i]);
                float[]? targets = null;
                if (request.WithTargets)
                {
                    var output = views[1][request.Layer.OutputName];
                    int targetRows = WeightLayer.OutputRows(output.AsSpan<float>(), output.Shape, request.Layer.OpType == "Conv", ref targetBuffers[i]);
                    if (targetRows != count)
                    {
                        throw new InvalidOperationException($"layer {request.Layer.Name}: {count} input rows but {targetRows} teacher output rows");
                    }
                    targets = request.KeptOutputs is null ? targetBuffers[i] : Select(targetBuffers[i], count, request.KeptOutputs, (int)(request.Layer.OpType == "Conv" ? output.Shape[1] : output.Shape[^1]));
                    request.TransformTargets?.Invoke(targets, count, request.KeptOutputs?.Count ?? request.Layer.Outputs);
                }
                accumulators[i].Add(rowBuffers[i], count, targets);
            }
        }, workDirectory);
        return accumulators;
    }

    private static float[] Select(float[] rows, int count, IReadOnlyList<int> kept, int width)
    {
        var selected = new float[count * kept.Count];
        for (int r = 0; r < count; r++)
        {
            for (int k = 0; k < kept.Count; k++)
            {
                selected[r * kept.Count + k] = rows[r * width + kept[k]];
            }
        }
        return selected;
    }
}
