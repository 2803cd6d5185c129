using EdgeRuntime.Bundles;
using EdgeRuntime.Governance;
using EdgeRuntime.Inference;

namespace EdgeRuntime.Server.Domain;

/// <summary>What a served model is: its bundle, signature and variants as the pool sees them now.</summary>
internal sealed record ModelDescription(
    string Name, string Path, string ReferenceVariant, string CurrentVariant,
    IReadOnlyList<TensorSignature> Inputs, IReadOnlyList<TensorSignature> Outputs, IReadOnlyList<VariantStatus> Variants);

/// <summary>How a served model is doing: its variants' latency, why the current one serves, switches, hints and decisions.</summary>
internal sealed record ModelReport(
    string Name, string CurrentVariant, IReadOnlyList<VariantStatus> Variants, string[] Reasons, long Switches,
    VariantSwitched? LastSwitch, IReadOnlyDictionary<string, string> Hints, long Reloads, IReadOnlyList<DecisionEntry> Decisions)
{
    /// <summary>Threads and spinning new requests run with.</summary>
    public ExecutionKnobs Knobs { get; init; }

    /// <summary>Runs and the calling threads' CPU during them since the model opened.</summary>
    public CpuUsage? Cpu { get; init; }
}

/// <summary>One governor decision, or a run of identical ones folded together (newest first in a report).</summary>
internal sealed record DecisionEntry(GovernorDecision Latest, DateTimeOffset FirstAt, long Count);

/// <summary>A bundle swapped in by a reload.</summary>
internal sealed record ReloadOutcome(string Model, string Path, string CurrentVariant, IReadOnlyList<string> Variants);

/// <summary>A profile put in force by a client's offer.</summary>
internal sealed record ProfileOutcome(string Source, string DeviceClass, long Version, string Detail);

/// <summary>An inference that ran: the runtime's result and how long the request waited in the queue.</summary>
internal sealed record InferenceOutcome(string Model, InferenceResult Result, TimeSpan Queued);
