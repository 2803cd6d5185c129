using EdgeRuntime.Protocol;

namespace EdgeRuntime.Client;

/// <summary>Outputs of one inference and where the time went.</summary>
public sealed class InferResult(string model, string variant, IReadOnlyList<WireTensor> outputs, TimeSpan runTime, TimeSpan queueTime)
{
    public string Model { get; } = model;
    public string Variant { get; } = variant;
    public IReadOnlyList<WireTensor> Outputs { get; } = outputs;

    /// <summary>Time the variant ran inside the daemon.</summary>
    public TimeSpan RunTime { get; } = runTime;

    /// <summary>Time from receipt to the start of the run.</summary>
    public TimeSpan QueueTime { get; } = queueTime;

    public WireTensor this[string name] =>
        Outputs.FirstOrDefault(o => o.Name == name)
        ?? throw new KeyNotFoundException($"no output '{name}'; outputs are {string.Join(", ", Outputs.Select(o => o.Name))}");
}
