using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeRuntime.Reporting;

/// <summary>One JSON shape for every report a command prints with --json.</summary>
public static class ReportJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static string Serialize<T>(T report) => JsonSerializer.Serialize(report, Options);
}
