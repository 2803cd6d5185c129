using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Bundles;

/// <summary>Reads and writes manifest.json (snake_case keys, element types by name).</summary>
public static class ManifestJson
{
    public static readonly JsonSerializerOptions Options = CreateOptions();

    public static BundleManifest Parse(string json, string source)
    {
        BundleManifest? manifest;
        try
        {
            // Check the version before binding the rest, so a newer format says "unknown version"
            // rather than failing on a field it added.
            using (var document = JsonDocument.Parse(json))
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw new BundleException($"{source}: the manifest must be a JSON object");
                }
                if (!document.RootElement.TryGetProperty("schema_version", out var version) || version.ValueKind != JsonValueKind.Number)
                {
                    throw new BundleException($"{source}: 'schema_version' is missing or not a number");
                }
                if (!version.TryGetInt32(out int v) || v != BundleManifest.CurrentSchemaVersion)
                {
                    throw new BundleException($"{source}: unknown schema_version {version.GetRawText()}; this runtime reads version {BundleManifest.CurrentSchemaVersion}");
                }
            }
            manifest = JsonSerializer.Deserialize<BundleManifest>(json, Options);
        }
        catch (JsonException e)
        {
            throw new BundleException($"{source}: not a valid manifest: {JsonErrorText.Describe(e)}", e);
        }
        if (manifest is null)
        {
            throw new BundleException($"{source}: the manifest is empty (null)");
        }
        Validate(manifest, source);
        return manifest;
    }

    public static string Serialize(BundleManifest manifest) => JsonSerializer.Serialize(manifest, Options);

    /// <summary>Writes the manifest so that a crash leaves either the old file or the new one, never half of one.</summary>
    public static void WriteAtomically(BundleManifest manifest, string path)
    {
        Validate(manifest, path);
        AtomicFile.WriteAllText(path, Serialize(manifest) + "\n");
    }

    private static void Validate(BundleManifest manifest, string source)
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(manifest.Name))
        {
            problems.Add("'name' is empty");
        }
        if (manifest.Variants is null || manifest.Variants.Count == 0)
        {
            problems.Add("'variants' is empty: a bundle needs at least one variant");
        }
        else
        {
            foreach (var group in manifest.Variants.GroupBy(v => v.Id).Where(g => g.Count() > 1))
            {
                problems.Add($"variant id '{group.Key}' appears {group.Count()} times");
            }
            foreach (var group in manifest.Variants.GroupBy(v => v.File).Where(g => g.Count() > 1))
            {
                problems.Add($"file '{group.Key}' is used by several variants ({string.Join(", ", group.Select(v => v.Id))})");
            }
            foreach (var variant in manifest.Variants)
            {
                if (string.IsNullOrWhiteSpace(variant.Id))
                {
                    problems.Add("a variant has an empty 'id'");
                }
                if (!IsPlainFileName(variant.File))
                {
                    problems.Add($"variant '{variant.Id}': file '{variant.File}' must be a plain file name inside the bundle");
                }
            }
            if (manifest.FindVariant(manifest.ReferenceVariant) is null)
            {
                problems.Add($"reference_variant '{manifest.ReferenceVariant}' is not one of the variants");
            }
        }
        if (manifest.Version < 0)
        {
            problems.Add($"'version' {manifest.Version} is negative");
        }
        if (manifest.ReferenceChecks is { } checks && !IsPlainFileName(checks.File))
        {
            problems.Add($"reference_checks file '{checks.File}' must be a plain file name inside the bundle");
        }
        if (manifest.Inputs is null || manifest.Outputs is null)
        {
            problems.Add("'inputs' and 'outputs' are required");
        }
        if (problems.Count > 0)
        {
            throw new BundleException($"{source}: {string.Join("; ", problems)}");
        }
    }

    private static bool IsPlainFileName(string? file) =>
        !string.IsNullOrWhiteSpace(file)
        && file == Path.GetFileName(file)
        && file is not "." and not ".."
        && file.IndexOfAny(Path.GetInvalidFileNameChars()) < 0
        && !file.Contains('\\');

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DictionaryKeyPolicy = null,
            WriteIndented = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            RespectRequiredConstructorParameters = true,
            RespectNullableAnnotations = true,
            AllowTrailingCommas = false,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        };
        options.Converters.Add(new ElementTypeJsonConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    private sealed class ElementTypeJsonConverter : JsonConverter<ElementType>
    {
        public override ElementType Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            string? name = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            return ElementTypes.TryParse(name, out var type)
                ? type
                : throw new JsonException($"unknown element type {(name is null ? reader.TokenType.ToString() : $"'{name}'")}");
        }

        public override void Write(Utf8JsonWriter writer, ElementType value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.ToName());
    }
}
