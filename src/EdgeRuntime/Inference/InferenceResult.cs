using EdgeRuntime.Tensors;

namespace EdgeRuntime.Inference;

/// <summary>Outputs of one inference, the variant that produced them and how long it took.</summary>
public sealed class InferenceResult(string variantId, IReadOnlyList<NamedTensor> outputs, TimeSpan latency)
{
    public string VariantId { get; } = variantId;
    public IReadOnlyList<NamedTensor> Outputs { get; } = outputs;
    public TimeSpan Latency { get; } = latency;

    public NamedTensor this[string name] =>
        Outputs.FirstOrDefault(o => o.Name == name)
        ?? throw new KeyNotFoundException($"no output '{name}'; outputs are {string.Join(", ", Outputs.Select(o => o.Name))}");

    public NamedTensor First => Outputs[0];
}
