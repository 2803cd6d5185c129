using MessagePack;

namespace EdgeRuntime.Telemetry;

/// <summary>
/// Inference on one variant over a window, with the conditions it ran under (what fleet fitting needs). Mean and p95
/// are response times as callers saw them (queue wait included); the service fields, where present, are the time the
/// variant itself took, which is what a cost model of the board needs.
/// </summary>
[MessagePackObject]
public sealed class InferenceSummary
{
    [Key(0)] public string Variant { get; set; } = "";
    [Key(1)] public double WindowSeconds { get; set; }
    [Key(2)] public long Count { get; set; }
    /// <summary>Null where only percentiles were kept (e.g. simulated windows).</summary>
    [Key(3)] public double? MeanMs { get; set; }
    [Key(4)] public double P95Ms { get; set; }
    /// <summary>Clock the requests ran at; over a window whose clock changed, the one that gives the mean clock period.</summary>
    [Key(5)] public double? FrequencyMhz { get; set; }
    /// <summary>SoC temperature while the requests ran (mean over the window).</summary>
    [Key(6)] public double? Celsius { get; set; }
    /// <summary>Board power while serving, where a power rail or battery reports it.</summary>
    [Key(7)] public double? PowerWatts { get; set; }
    [Key(8)] public long Errors { get; set; }
    /// <summary>Mean time the variant took to run a request, without queue wait. Optional (added in format 1.1).</summary>
    [Key(9)] public double? ServiceMeanMs { get; set; }
    /// <summary>95th percentile of the service time. Optional (added in format 1.1).</summary>
    [Key(10)] public double? ServiceP95Ms { get; set; }
    /// <summary>Mean time requests waited in the queue before running. Optional (added in format 1.1).</summary>
    [Key(11)] public double? QueueWaitMeanMs { get; set; }
    /// <summary>The serving process's CPU time over the window per inference of the window (every thread: ONNX Runtime's
    /// pool and its spinning, the daemon's own work), ms. Optional (added in format 1.2).</summary>
    [Key(12)] public double? CpuMsPerInference { get; set; }
    /// <summary>Threads and spinning the model ran with at the end of the window ("1", "all", "all+spin"). Optional (added in format 1.2).</summary>
    [Key(13)] public string? Knobs { get; set; }
}
