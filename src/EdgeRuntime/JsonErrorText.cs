using System.Text.Json;

namespace EdgeRuntime;

/// <summary>
/// Where a JSON document is broken, without the parser's message: System.Text.Json quotes the offending text
/// ("'tRUEsecret' is an invalid JSON literal"), and errors reach clients that must not read files through them.
/// </summary>
public static class JsonErrorText
{
    public static string Describe(JsonException e)
    {
        var parts = new List<string>();
        if (e.LineNumber is long line)
        {
            parts.Add($"line {line + 1}");
        }
        if (e.BytePositionInLine is long column)
        {
            parts.Add($"byte {column + 1}");
        }
        if (!string.IsNullOrEmpty(e.Path) && e.Path != "$")
        {
            parts.Add($"at {e.Path}");
        }
        string where = parts.Count == 0 ? "" : $" ({string.Join(", ", parts)})";
        return e.InnerException is null && e.LineNumber is not null
            ? $"not valid JSON{where}"
            : $"a value has the wrong type or form{where}";
    }
}
