using EdgeRuntime.Tensors;

namespace EdgeRuntime.Inference;

/// <summary>Outputs of one inference, the variant that produced them and how long it took.</summary>
public sealed class InferenceResult(string variantId, IReadOnlyList<NamedTensor> outputs, TimeSpan latency)
{
    public string VariantId { get; } = variantId;
    public IReadOnlyList<NamedTensor> Outputs { get; } = outputs;
    public TimeSpan Latency { get; } = latency;

    /// <summary>CPU time of the calling thread during the run (pool threads' work is not in it; see <see cref="ModelRuntime.GetCpuUsage"/>).</summary>
    public TimeSpan CallerCpuTime { get; init; }

    /// <summary>Threads and spinning the run used.</summary>
    public ExecutionKnobs Knobs { get; init; }

    public NamedTensor this[string name] =>
        Outputs.FirstOrDefault(o => o.Name == name)
        ?? throw new KeyNotFoundException($"no output '{name}'; outputs are {string.Join(", ", Outputs.Select(o => o.Name))}");

    public NamedTensor First => Outputs[0];
}
