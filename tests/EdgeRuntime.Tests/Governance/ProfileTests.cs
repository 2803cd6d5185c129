using EdgeRuntime.Governance;

namespace EdgeRuntime.Tests.Governance;

public sealed class ProfileTests
{
    private static string Json(string deviceClass = "raspberry-pi-4", long version = 2, string extra = "") => $$"""
        {
          "schema_version": 1,
          "device_class": "{{deviceClass}}",
          "version": {{version}},
          "provenance": { "source": "fleet-fit", "devices": 12, "fit_error": 0.04 }{{extra}}
        }
        """;

    [Fact]
    public void Every_shipped_profile_is_valid()
    {
        Assert.Contains("raspberry-pi-4", ProfileCatalog.DeviceClasses);
        foreach (string deviceClass in ProfileCatalog.DeviceClasses)
        {
            var profile = ProfileCatalog.BuiltIn(deviceClass);
            Assert.Equal(deviceClass, profile.DeviceClass);
            Assert.Empty(ProfileJson.Validate(profile));
        }
        Assert.Equal("unknown-board", ProfileCatalog.BuiltIn("unknown-board").DeviceClass);
    }

    [Theory]
    [InlineData("not json", "not a valid profile")]
    [InlineData("[]", "must be a JSON object")]
    [InlineData("{\"schema_version\": 2}", "schema_version must be 1")]
    [InlineData("{\"schema_version\": 1, \"device_class\": \"x\", \"version\": 1, \"provenance\": {\"source\": \"s\"}, \"policy\": {\"max_utilisation\": 1.5}}", "policy.max_utilisation")]
    [InlineData("{\"schema_version\": 1, \"device_class\": \"x\", \"version\": 1, \"provenance\": {\"source\": \"s\"}, \"surprise\": 1}", "not a valid profile")]
    [InlineData("{\"schema_version\": 1, \"device_class\": \"x\", \"version\": 1, \"provenance\": {\"source\": \"s\"}, \"variants\": {\"a\": {\"latency_p50_ms\": 5, \"latency_p95_ms\": 2}}}", "variants.a")]
    [InlineData("{\"schema_version\": 1, \"device_class\": \"x\", \"version\": 1, \"provenance\": {\"source\": \"s\"}, \"variants\": {\"a\": {\"latency_p50_ms\": 5, \"latency_p95_ms\": 6, \"knobs\": {\"2\": {\"latency_p50_ms\": 5, \"latency_p95_ms\": 6}}}}}", "variants.a.knobs: unknown setting '2' (known: 1, all, all+spin)")]
    [InlineData("{\"schema_version\": 1, \"device_class\": \"x\", \"version\": 1, \"provenance\": {\"source\": \"s\"}, \"variants\": {\"a\": {\"latency_p50_ms\": 5, \"latency_p95_ms\": 6, \"knobs\": {\"all\": {\"latency_p50_ms\": 5, \"latency_p95_ms\": 4}}}}}", "variants.a.knobs.all: latency must be positive and finite with p95 >= p50")]
    [InlineData("{\"schema_version\": 1, \"device_class\": \"x\", \"version\": 1, \"provenance\": {\"source\": \"s\"}, \"variants\": {\"a\": {\"latency_p50_ms\": 5, \"latency_p95_ms\": 6, \"knobs\": {\"1\": {\"latency_p50_ms\": 5, \"latency_p95_ms\": 6, \"cpu_ms_per_inference\": -1}}}}}", "variants.a.knobs.1: cpu_ms_per_inference must be positive and finite")]
    [InlineData("{\"schema_version\": 1, \"device_class\": \"x\", \"version\": 1, \"provenance\": {\"source\": \"s\"}, \"variants\": {\"a\": {\"latency_p50_ms\": 5, \"latency_p95_ms\": 6, \"knobs\": {\"all+spin\": {\"latency_p50_ms\": 5, \"latency_p95_ms\": 6, \"energy_millijoules\": 0}}}}}", "variants.a.knobs.all+spin: energy_millijoules must be positive and finite")]
    [InlineData("{\"schema_version\": 1, \"device_class\": \"x\", \"version\": 1, \"provenance\": {\"source\": \"s\"}, \"variants\": {\"a\": {\"latency_p50_ms\": 5, \"latency_p95_ms\": 6, \"knobs\": {\"1\": {\"latency_p50_ms\": 5, \"latency_p95_ms\": 6, \"watts\": 2}}}}}", "not a valid profile")]
    public void Bad_profiles_are_rejected_with_the_reason(string json, string expected)
    {
        var error = Assert.Throws<ProfileException>(() => ProfileJson.Parse(json, "p.json"));
        Assert.Contains(expected, error.Message);
        Assert.StartsWith("p.json", error.Message);
    }

    [Fact]
    public void The_store_swaps_in_newer_valid_profiles_and_keeps_the_old_one_otherwise()
    {
        var store = new ProfileStore(ProfileCatalog.BuiltIn("raspberry-pi-4"));
        var changes = new List<GovernorProfile>();
        store.Changed += changes.Add;

        Assert.False(store.Offer("{ broken", "mqtt").Accepted);
        Assert.Contains("other-board", store.Offer(Json("other-board"), "mqtt").Reason);
        Assert.Equal(1, store.Current.Version);

        var accepted = store.Offer(Json(version: 2), "mqtt");
        Assert.True(accepted.Accepted);
        Assert.Equal(2, store.Current.Version);
        Assert.Equal("fleet-fit", store.Current.Provenance.Source);

        Assert.Contains("older", store.Offer(Json(version: 1), "mqtt").Reason);
        Assert.Contains("already in force", store.Offer(Json(version: 2), "mqtt").Reason);
        Assert.Single(changes);
    }

    [Fact]
    public void A_profile_file_is_reloaded_when_it_changes_and_a_bad_edit_is_refused()
    {
        using var temp = new TempDirectory();
        string path = temp.File("raspberry-pi-4.json");
        var store = new ProfileStore(ProfileCatalog.BuiltIn("raspberry-pi-4"));
        File.WriteAllText(path, Json(version: 5));
        Assert.True(store.ReloadIfChanged(path)!.Accepted);
        Assert.Null(store.ReloadIfChanged(path)); // unchanged

        File.WriteAllText(path, Json(version: 6, extra: ", \"thermal\": { \"throttle_celsius\": -4 }"));
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5));
        var refused = store.ReloadIfChanged(path)!;
        Assert.False(refused.Accepted);
        Assert.Contains("thermal.throttle_celsius", refused.Reason);
        Assert.Equal(5, store.Current.Version);
    }
}
