using MessagePack;

namespace EdgeRuntime.Protocol.Messages;

[MessagePackObject]
public sealed class ListModelsRequest
{
}

[MessagePackObject]
public sealed class ListModelsResponse
{
    [Key("models")] public ModelInfo[] Models { get; set; } = [];
}

[MessagePackObject]
public sealed class ModelInfo
{
    [Key("name")] public string Name { get; set; } = "";
    [Key("path")] public string Path { get; set; } = "";
    [Key("reference_variant")] public string ReferenceVariant { get; set; } = "";
    [Key("current_variant")] public string CurrentVariant { get; set; } = "";
    [Key("inputs")] public TensorInfo[] Inputs { get; set; } = [];
    [Key("outputs")] public TensorInfo[] Outputs { get; set; } = [];
    [Key("variants")] public VariantInfo[] Variants { get; set; } = [];
}

[MessagePackObject]
public sealed class TensorInfo
{
    [Key("name")] public string Name { get; set; } = "";
    [Key("dtype")] public string DataType { get; set; } = "";
    /// <summary>Sizes, with -1 where a dimension is open (its symbol is in <see cref="DimensionNames"/>).</summary>
    [Key("shape")] public long[] Shape { get; set; } = [];
    [Key("dim_names")] public string?[] DimensionNames { get; set; } = [];
}

[MessagePackObject]
public sealed class VariantInfo
{
    [Key("id")] public string Id { get; set; } = "";
    [Key("precision")] public string Precision { get; set; } = "";
    [Key("size_bytes")] public long SizeBytes { get; set; }
    [Key("sparsity")] public double Sparsity { get; set; }
    [Key("quality_metric")] public string? QualityMetric { get; set; }
    [Key("quality")] public double? Quality { get; set; }
    /// <summary>"not_loaded", "ready" or "unavailable".</summary>
    [Key("state")] public string State { get; set; } = "";
    [Key("unavailable_reason")] public string? UnavailableReason { get; set; }
}
