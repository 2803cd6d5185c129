using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Bundles;

/// <summary>One dimension of a declared shape: a fixed size, or a symbol such as "batch".</summary>
[JsonConverter(typeof(TensorDimensionJsonConverter))]
public readonly record struct TensorDimension(long? Size, string? Symbol)
{
    public static TensorDimension Fixed(long size) => new(size, null);
    public static TensorDimension Symbolic(string symbol) => new(null, string.IsNullOrEmpty(symbol) ? "?" : symbol);
    public bool IsFixed => Size.HasValue;
    public override string ToString() => Size?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Symbol ?? "?";
}

/// <summary>Name, element type and shape of one model input or output.</summary>
public sealed record TensorSignature(string Name, ElementType ElementType, IReadOnlyList<TensorDimension> Shape)
{
    public override string ToString() => $"{Name}: {ElementType.ToName()}[{string.Join(",", Shape)}]";

    /// <summary>Same name, type, rank and dimensions (fixed sizes equal, symbolic matching symbolic).</summary>
    public bool IsCompatibleWith(TensorSignature other) =>
        Name == other.Name
        && ElementType == other.ElementType
        && Shape.Count == other.Shape.Count
        && Shape.Zip(other.Shape).All(p => p.First.IsFixed == p.Second.IsFixed && p.First.Size == p.Second.Size);

    /// <summary>Says how a list of signatures differs from the expected one, or returns null when compatible.</summary>
    public static string? Describe(string what, IReadOnlyList<TensorSignature> expected, IReadOnlyList<TensorSignature> actual)
    {
        var problems = new List<string>();
        foreach (var want in expected)
        {
            var have = actual.FirstOrDefault(a => a.Name == want.Name);
            if (have is null)
            {
                problems.Add($"{what} '{want.Name}' is missing");
            }
            else if (!want.IsCompatibleWith(have))
            {
                problems.Add($"{what} '{want.Name}' is {have.ElementType.ToName()}[{string.Join(",", have.Shape)}], expected {want.ElementType.ToName()}[{string.Join(",", want.Shape)}]");
            }
        }
        foreach (var extra in actual.Where(a => expected.All(e => e.Name != a.Name)))
        {
            problems.Add($"unexpected {what} '{extra.Name}'");
        }
        return problems.Count == 0 ? null : string.Join("; ", problems);
    }
}

internal sealed class TensorDimensionJsonConverter : JsonConverter<TensorDimension>
{
    public override TensorDimension Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.Number when reader.TryGetInt64(out long size) && size >= 0 => TensorDimension.Fixed(size),
            JsonTokenType.String => TensorDimension.Symbolic(reader.GetString()!),
            JsonTokenType.Null => TensorDimension.Symbolic("?"),
            _ => throw new JsonException("a dimension must be a non-negative integer or a symbol string"),
        };

    public override void Write(Utf8JsonWriter writer, TensorDimension value, JsonSerializerOptions options)
    {
        if (value.Size is long size)
        {
            writer.WriteNumberValue(size);
        }
        else
        {
            writer.WriteStringValue(value.Symbol ?? "?");
        }
    }
}
