using MessagePack;

namespace EdgeRuntime.Telemetry.Tests;

public sealed class FormatCompatibilityTests
{
    /// <summary>An inference summary as the first format wrote it: fields 0-8 only.</summary>
    [MessagePackObject]
    public sealed class FirstFormatSummary
    {
        [Key(0)] public string Variant { get; set; } = "";
        [Key(1)] public double WindowSeconds { get; set; }
        [Key(2)] public long Count { get; set; }
        [Key(3)] public double? MeanMs { get; set; }
        [Key(4)] public double P95Ms { get; set; }
        [Key(5)] public double? FrequencyMhz { get; set; }
        [Key(6)] public double? Celsius { get; set; }
        [Key(7)] public double? PowerWatts { get; set; }
        [Key(8)] public long Errors { get; set; }
    }

    [Fact]
    public void A_record_written_before_service_time_existed_reads_with_the_service_fields_absent()
    {
        object?[] summary = ["fp32", 5.0, 400L, 12.5, 30.0, 1500.0, 61.0, null, 0L];
        object?[] record = [7L, 1_767_225_600_000L, 1, "pi-1", "raspberry-pi-4", summary, null, null, null];
        var decoded = TelemetryCodec.TryDecode(MessagePackSerializer.Serialize(record));
        Assert.NotNull(decoded);
        Assert.Equal(7, decoded.Sequence);
        Assert.Equal(30.0, decoded.Inference!.P95Ms);
        Assert.Equal(1500.0, decoded.Inference.FrequencyMhz);
        Assert.Null(decoded.Inference.ServiceMeanMs);
        Assert.Null(decoded.Inference.ServiceP95Ms);
        Assert.Null(decoded.Inference.QueueWaitMeanMs);
    }

    [Fact]
    public void A_summary_with_service_time_reads_in_a_reader_that_knows_only_the_first_fields()
    {
        var summary = new InferenceSummary
        {
            Variant = "int8", WindowSeconds = 5, Count = 321, MeanMs = 20, P95Ms = 41, FrequencyMhz = 1200, Celsius = 70,
            ServiceMeanMs = 7.5, ServiceP95Ms = 9.25, QueueWaitMeanMs = 12.5,
        };
        var old = MessagePackSerializer.Deserialize<FirstFormatSummary>(MessagePackSerializer.Serialize(summary),
            MessagePackSerializerOptions.Standard.WithSecurity(MessagePackSecurity.UntrustedData));
        Assert.Equal(("int8", 321L, 41.0, 1200.0), (old.Variant, old.Count, old.P95Ms, old.FrequencyMhz));

        var record = TelemetryRecord.For(summary);
        var back = TelemetryCodec.TryDecode(TelemetryCodec.Encode(record))!.Inference!;
        Assert.Equal((7.5, 9.25, 12.5), (back.ServiceMeanMs, back.ServiceP95Ms, back.QueueWaitMeanMs));
    }
}
