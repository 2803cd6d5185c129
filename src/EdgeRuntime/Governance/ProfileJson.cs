using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeRuntime.Inference;

namespace EdgeRuntime.Governance;

/// <summary>A profile that cannot be used, with every reason.</summary>
public sealed class ProfileException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Reads and checks governor profiles (snake_case JSON).</summary>
public static class ProfileJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static GovernorProfile Parse(string json, string source)
    {
        GovernorProfile? profile;
        try
        {
            using (var document = JsonDocument.Parse(json))
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw new ProfileException($"{source}: a profile must be a JSON object");
                }
                if (!document.RootElement.TryGetProperty("schema_version", out var version) || !version.TryGetInt32(out int v) || v != GovernorProfile.CurrentSchemaVersion)
                {
                    throw new ProfileException($"{source}: schema_version must be {GovernorProfile.CurrentSchemaVersion}");
                }
            }
            profile = JsonSerializer.Deserialize<GovernorProfile>(json, Options);
        }
        catch (JsonException e)
        {
            throw new ProfileException($"{source}: not a valid profile: {JsonErrorText.Describe(e)}", e);
        }
        if (profile is null)
        {
            throw new ProfileException($"{source}: the profile is empty");
        }
        var problems = Validate(profile);
        if (problems.Count > 0)
        {
            throw new ProfileException($"{source}: {string.Join("; ", problems)}");
        }
        return profile;
    }

    public static GovernorProfile Load(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path), path);
        }
        catch (IOException e)
        {
            throw new ProfileException($"{path}: cannot be read: {e.Message}", e);
        }
    }

    public static string Serialize(GovernorProfile profile) => JsonSerializer.Serialize(profile, Options);

    public static IReadOnlyList<string> Validate(GovernorProfile profile)
    {
        var problems = new List<string>();
        void Check(bool ok, string problem)
        {
            if (!ok)
            {
                problems.Add(problem);
            }
        }
        Check(!string.IsNullOrWhiteSpace(profile.DeviceClass), "device_class is empty");
        Check(profile.Version > 0, "version must be positive");
        Check(!string.IsNullOrWhiteSpace(profile.Provenance.Source), "provenance.source is empty");
        var policy = profile.Policy;
        Check(policy.SloP95Ms is null or > 0, "policy.slo_p95_ms must be positive");
        Check(policy.TickSeconds is > 0 and <= 60, "policy.tick_seconds must be in (0, 60]");
        Check(policy.DwellUpSeconds >= 0, "policy.dwell_up_seconds must not be negative");
        Check(policy.RateMemorySeconds is >= 0 and <= 3600, "policy.rate_memory_seconds must be within 0..3600");
        Check(policy.MaxDwellUpSeconds is null || policy.MaxDwellUpSeconds >= policy.DwellUpSeconds, "policy.max_dwell_up_seconds must be at least dwell_up_seconds");
        Check(policy.UpLatencyMargin is > 0 and <= 1, "policy.up_latency_margin must be in (0, 1]");
        Check(policy.MaxUtilisation is > 0 and < 1, "policy.max_utilisation must be in (0, 1)");
        Check(policy.ThermalMarginCelsius >= 0, "policy.thermal_margin_celsius must not be negative");
        Check(policy.HysteresisCelsius >= 0, "policy.hysteresis_celsius must not be negative");
        Check(policy.BatteryHorizonSeconds is null or > 0, "policy.battery_horizon_seconds must be positive");
        for (int i = 0; i < policy.BatteryTiers.Count; i++)
        {
            var tier = policy.BatteryTiers[i];
            Check(tier.BelowPercent is > 0 and <= 100, $"policy.battery_tiers[{i}].below_percent must be in (0, 100]");
            Check(tier.MaxEnergyRatio is > 0 and <= 1, $"policy.battery_tiers[{i}].max_energy_ratio must be in (0, 1]");
            Check(i == 0 || tier.BelowPercent > policy.BatteryTiers[i - 1].BelowPercent, "policy.battery_tiers must be sorted by below_percent, lowest first");
        }
        var thermal = profile.Thermal;
        Check(thermal.ThrottleCelsius is > 20 and < 150, "thermal.throttle_celsius must be between 20 and 150");
        Check(thermal.TimeConstantSeconds > 0, "thermal.time_constant_seconds must be positive");
        Check(thermal.RiseAtFullLoadCelsius > 0, "thermal.rise_at_full_load_celsius must be positive");
        Check(thermal.PredictionHorizonSeconds >= 0, "thermal.prediction_horizon_seconds must not be negative");
        foreach (var (id, cost) in profile.Variants)
        {
            Check(cost.LatencyP50Ms > 0 && cost.LatencyP95Ms >= cost.LatencyP50Ms, $"variants.{id}: latency must be positive with p95 >= p50");
            Check(cost.BusyPowerWatts is null or > 0, $"variants.{id}: busy_power_watts must be positive");
            foreach (var (code, setting) in cost.Knobs ?? new Dictionary<string, KnobSettingCost>())
            {
                string where = $"variants.{id}.knobs.{code}";
                if (ExecutionKnobs.FromCode(code) is null)
                {
                    problems.Add($"variants.{id}.knobs: unknown setting '{code}' (known: {string.Join(", ", ExecutionKnobs.Settings.Select(s => s.Code))})");
                    continue;
                }
                Check(PositiveFinite(setting.LatencyP50Ms) && PositiveFinite(setting.LatencyP95Ms) && setting.LatencyP95Ms >= setting.LatencyP50Ms,
                    $"{where}: latency must be positive and finite with p95 >= p50");
                Check(setting.CpuMsPerInference is null || PositiveFinite(setting.CpuMsPerInference.Value), $"{where}: cpu_ms_per_inference must be positive and finite");
                Check(setting.EnergyMillijoules is null || PositiveFinite(setting.EnergyMillijoules.Value), $"{where}: energy_millijoules must be positive and finite");
            }
        }
        return problems;
    }

    private static bool PositiveFinite(double value) => value > 0 && double.IsFinite(value);
}
