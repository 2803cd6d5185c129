using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeRuntime.Devices;

/// <summary>
/// Writes a reading as {"status": "ok", "value": ...} or {"status": "unavailable", "reason": ...}, so a
/// missing value never looks like a real zero in JSON reports.
/// </summary>
public sealed class ReadingJsonConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) =>
        typeToConvert.IsGenericType && typeToConvert.GetGenericTypeDefinition() == typeof(Reading<>);

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(ReadingConverter<>).MakeGenericType(typeToConvert.GetGenericArguments()[0]))!;

    private sealed class ReadingConverter<T> : JsonConverter<Reading<T>>
    {
        public override Reading<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            string status = root.TryGetProperty("status", out var s) ? s.GetString() ?? "" : "";
            string reason = root.TryGetProperty("reason", out var r) ? r.GetString() ?? "" : "";
            T? value = root.TryGetProperty("value", out var v) ? v.Deserialize<T>(options) : default;
            return status switch
            {
                "ok" => Reading<T>.Ok(value!),
                "stale" => Reading<T>.Stale(value!, reason),
                "unavailable" => Reading<T>.Unavailable(reason),
                _ => throw new JsonException($"reading status must be ok, stale or unavailable, not '{status}'"),
            };
        }

        public override void Write(Utf8JsonWriter writer, Reading<T> reading, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            writer.WriteString("status", reading.Status switch
            {
                ReadingStatus.Ok => "ok",
                ReadingStatus.Stale => "stale",
                _ => "unavailable",
            });
            if (reading.Status != ReadingStatus.Unavailable)
            {
                writer.WritePropertyName("value");
                JsonSerializer.Serialize(writer, reading.Value, options);
            }
            if (reading.Reason is not null)
            {
                writer.WriteString("reason", reading.Reason);
            }
            writer.WriteEndObject();
        }
    }
}
