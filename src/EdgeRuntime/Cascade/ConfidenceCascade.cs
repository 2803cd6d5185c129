using EdgeRuntime.Inference;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Cascade;

/// <summary>A cheap variant answers first; samples it is unsure of go to a stronger one.</summary>
public sealed record CascadeOptions(string Cheap, string Strong, double Threshold, ConfidenceMeasure Measure = ConfidenceMeasure.TopProbability)
{
    public void Validate()
    {
        if (Cheap == Strong)
        {
            throw new ArgumentException("the cheap and the strong variant must differ");
        }
        if (!(Threshold >= 0 && Threshold <= 1))
        {
            throw new ArgumentException($"the confidence threshold must be in [0, 1], got {Threshold}");
        }
    }
}

/// <summary>What one cascaded request did.</summary>
public sealed record CascadeResult(InferenceResult Result, int Samples, int Escalated, double[] Confidences);

/// <summary>
/// Conditional computation (the source article's input-adaptive compression): every sample runs on the cheap
/// variant; those whose confidence falls below the threshold run again on the strong variant, and their rows
/// of the first output are replaced. Thread-safe like the runtime it uses.
/// </summary>
public sealed class ConfidenceCascade
{
    private readonly ModelRuntime _runtime;
    private long _samples;
    private long _escalated;

    public ConfidenceCascade(ModelRuntime runtime, CascadeOptions options)
    {
        options.Validate();
        _ = runtime.Bundle[options.Cheap];
        _ = runtime.Bundle[options.Strong];
        _runtime = runtime;
        Options = options;
    }

    public CascadeOptions Options { get; }

    /// <summary>Share of samples sent to the strong variant so far.</summary>
    public double EscalatedFraction => Interlocked.Read(ref _samples) is long n and > 0 ? (double)Interlocked.Read(ref _escalated) / n : 0;

    /// <summary>Runs one request whose inputs' first axis is the batch.</summary>
    public CascadeResult Run(IReadOnlyList<NamedTensor> inputs, CancellationToken cancellationToken = default)
    {
        var cheap = _runtime.Run(inputs, Options.Cheap, cancellationToken);
        var output = cheap.Outputs[0];
        if (output.ElementType != ElementType.Float32 || output.Shape.Length == 0)
        {
            throw new NotSupportedException($"the cascade reads class scores from a float32 output; '{output.Name}' is {output}");
        }
        int rows = output.Shape.Length == 1 ? 1 : (int)output.Shape[0];
        int width = (int)(output.ElementCount() / Math.Max(1, rows));
        var scores = output.AsSpan<float>();
        var confidences = new double[rows];
        var unsure = new List<int>();
        for (int r = 0; r < rows; r++)
        {
            confidences[r] = Confidence.Of(scores.Slice(r * width, width), Options.Measure);
            if (confidences[r] < Options.Threshold)
            {
                unsure.Add(r);
            }
        }
        Interlocked.Add(ref _samples, rows);
        Interlocked.Add(ref _escalated, unsure.Count);
        if (unsure.Count == 0)
        {
            return new CascadeResult(cheap, rows, 0, confidences);
        }
        var strong = _runtime.Run([.. inputs.Select(t => SelectRows(t, unsure, rows))], Options.Strong, cancellationToken);
        var strongScores = strong.Outputs[0].AsSpan<float>();
        for (int i = 0; i < unsure.Count; i++)
        {
            strongScores.Slice(i * width, width).CopyTo(output.AsSpan<float>().Slice(unsure[i] * width, width));
        }
        var merged = new InferenceResult($"{Options.Cheap}+{Options.Strong}", cheap.Outputs, cheap.Latency + strong.Latency);
        return new CascadeResult(merged, rows, unsure.Count, confidences);
    }

    private static NamedTensor SelectRows(NamedTensor tensor, List<int> rows, int batch)
    {
        if (tensor.Shape.Length == 0 || tensor.Shape[0] != batch)
        {
            return tensor; // not batched along the first axis: shared by every sample
        }
        int rowBytes = (int)(tensor.Data.Length / batch);
        var data = new byte[rows.Count * rowBytes];
        for (int i = 0; i < rows.Count; i++)
        {
            tensor.Data.Span.Slice(rows[i] * rowBytes, rowBytes).CopyTo(data.AsSpan(i * rowBytes));
        }
        return new NamedTensor(tensor.Name, tensor.ElementType, [rows.Count, .. tensor.Shape[1..]], data);
    }
}
