using Onnx;

namespace EdgeRuntime.Compression.Pruning;

/// <summary>
/// Remove channel c of a group by deleting indices [Offset + c·Block, Offset + (c+1)·Block) of the
/// initializer along Axis, counted from the end when negative (a Flatten turns one channel into a block of features).
/// </summary>
public sealed record SliceAction(string Initializer, int Axis, int Offset, int Block);

/// <summary>A layer that reads the group's channels as its input columns (its weights lose those columns).</summary>
public sealed record ChannelConsumer(WeightLayer Layer, int Offset, int Block);

/// <summary>A BatchNormalization over the group's channels at an offset.</summary>
public sealed record NormalizationUse(NodeProto Node, int Offset);

/// <summary>
/// Channels that must be removed together: the output channels of one or more producing layers tied by
/// residual additions, with everything that reads them (normalizations, per-channel constants,
/// depthwise convolutions, concatenations, flattened features, the consuming layers' input columns).
/// </summary>
public sealed class ChannelGroup
{
    internal ChannelGroup(int id, int channels, IReadOnlyList<WeightLayer> producers)
    {
        Id = id;
        Channels = channels;
        Producers = producers;
    }

    public int Id { get; }
    public int Channels { get; }
    public IReadOnlyList<WeightLayer> Producers { get; }
    public List<SliceAction> Slices { get; } = [];
    public List<ChannelConsumer> Consumers { get; } = [];
    public List<NormalizationUse> Normalizations { get; } = [];
    /// <summary>Depthwise convolutions whose group attribute follows the channel count.</summary>
    public List<NodeProto> Depthwise { get; } = [];
    /// <summary>Why the group cannot be pruned; null when it can.</summary>
    public string? BlockedBecause { get; internal set; }
    public bool CanPrune => BlockedBecause is null;

    public string Describe() => $"{string.Join(" + ", Producers.Select(p => p.Name))} ({Channels} channels)";
}
