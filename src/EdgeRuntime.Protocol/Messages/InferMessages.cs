using MessagePack;

namespace EdgeRuntime.Protocol.Messages;

[MessagePackObject]
public sealed class InferRequest
{
    /// <summary>Model (bundle) name; may be left out when the daemon serves one.</summary>
    [Key("model")] public string? Model { get; set; }
    [Key("inputs")] public WireTensor[]? Inputs { get; set; }
    /// <summary>Milliseconds from receipt after which the request must not run; 0 for none.</summary>
    [Key("deadline_ms")] public uint DeadlineMs { get; set; }
    /// <summary>Lowest recorded quality (the manifest's quality value) the serving variant may have; absent for any.</summary>
    [Key("min_quality")] public double? MinQuality { get; set; }
    /// <summary>0 low, 1 normal, 2 high: under load, lower priorities are refused first.</summary>
    [Key("priority")] public int Priority { get; set; } = 1;
    /// <summary>Pass NaN and ±Inf in float inputs to the model; by default such inputs are refused (InvalidInput).</summary>
    [Key("allow_non_finite")] public bool AllowNonFinite { get; set; }
}

[MessagePackObject]
public sealed class InferResponse
{
    [Key("model")] public string Model { get; set; } = "";
    [Key("variant")] public string Variant { get; set; } = "";
    [Key("outputs")] public WireTensor[] Outputs { get; set; } = [];
    /// <summary>Time the variant ran, in microseconds.</summary>
    [Key("run_us")] public long RunMicroseconds { get; set; }
    /// <summary>Time from receipt to the start of the run, in microseconds.</summary>
    [Key("queue_us")] public long QueueMicroseconds { get; set; }
}

/// <summary>Asks the daemon to drop a request of this connection; no reply of its own (the request answers Cancelled).</summary>
[MessagePackObject]
public sealed class CancelRequest
{
    [Key("request_id")] public uint RequestId { get; set; }
}
