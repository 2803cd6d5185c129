using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeRuntime.Governance;
using Json.Schema;

namespace EdgeRuntime.Tests.Governance;

/// <summary>
/// profiles/profile.schema.json is what third parties write profiles against; the shipped profiles must satisfy
/// it, and the runtime's own parser must refuse what the schema refuses.
/// </summary>
public sealed class ProfileSchemaTests
{
    private static readonly string ProfilesDirectory = Path.Combine(RepositoryRoot.Find(), "profiles");

    // Built once: the library registers a schema by its URI and refuses a second registration.
    private static readonly JsonSchema Schema = JsonSchema.FromFile(Path.Combine(ProfilesDirectory, "profile.schema.json"));

    public static TheoryData<string> ShippedProfiles()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.EnumerateFiles(ProfilesDirectory, "*.json").Where(f => !f.EndsWith(".schema.json", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ShippedProfiles))]
    public void Every_shipped_profile_satisfies_the_schema_and_loads(string file)
    {
        string path = Path.Combine(ProfilesDirectory, file);
        var result = Schema.Evaluate(JsonDocument.Parse(File.ReadAllText(path)).RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(result.IsValid, $"{file}: {Describe(result)}");
        Assert.Equal(Path.GetFileNameWithoutExtension(file), ProfileJson.Load(path).DeviceClass);
    }

    [Theory]
    [InlineData("unknown top-level field", "$", "colour", "\"blue\"")]
    [InlineData("schema version from the future", "$", "schema_version", "2")]
    [InlineData("version below 1", "$", "version", "0")]
    [InlineData("tick of zero", "policy", "tick_seconds", "0")]
    [InlineData("unknown policy field", "policy", "aggressiveness", "3")]
    public void The_parser_refuses_what_the_schema_refuses(string what, string where, string field, string value)
    {
        var profile = JsonNode.Parse(File.ReadAllText(Path.Combine(ProfilesDirectory, "raspberry-pi-4.json")))!.AsObject();
        var target = where == "$" ? profile : profile[where]!.AsObject();
        target[field] = JsonNode.Parse(value);
        string text = profile.ToJsonString();

        Assert.False(Schema.Evaluate(JsonDocument.Parse(text).RootElement).IsValid, $"the schema accepts a profile with {what}");
        Assert.Throws<ProfileException>(() => ProfileJson.Parse(text, what));
    }

    [Theory]
    [InlineData("all", true)]
    [InlineData("all+spin", true)]
    [InlineData("2", false)]
    public void Schema_and_parser_agree_on_per_setting_costs(string setting, bool valid)
    {
        var profile = JsonNode.Parse(File.ReadAllText(Path.Combine(ProfilesDirectory, "raspberry-pi-4.json")))!.AsObject();
        profile["variants"] = JsonNode.Parse($$"""
            { "fp32": { "latency_p50_ms": 5, "latency_p95_ms": 6, "knobs": {
              "1": { "latency_p50_ms": 8, "latency_p95_ms": 9, "cpu_ms_per_inference": 8.5, "energy_millijoules": 8 },
              "{{setting}}": { "latency_p50_ms": 3, "latency_p95_ms": 4, "cpu_ms_per_inference": 11 } } } }
            """);
        string text = profile.ToJsonString();
        var result = Schema.Evaluate(JsonDocument.Parse(text).RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.Equal(valid, result.IsValid);
        if (valid)
        {
            var knobs = ProfileJson.Parse(text, setting).Variants["fp32"].Knobs!;
            Assert.Equal(8.5, knobs["1"].CpuMsPerInference);
            Assert.Null(knobs[setting].EnergyMillijoules);
        }
        else
        {
            Assert.Contains($"unknown setting '{setting}'", Assert.Throws<ProfileException>(() => ProfileJson.Parse(text, setting)).Message);
        }
    }

    private static string Describe(EvaluationResults result) =>
        string.Join("; ", (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}")));
}
