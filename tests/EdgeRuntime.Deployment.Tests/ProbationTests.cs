using EdgeRuntime.Bench.Deployment;
using EdgeRuntime.Deployment.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRuntime.Deployment.Tests;

public class ProbationTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Request counters as a serving side keeps them; the test plays the traffic.</summary>
    private sealed class Counters : IServingHealth
    {
        public ServingCounters Current { get; set; } = new(0, 0, 0);
        public ServingCounters Read(string bundleName) => Current;
    }

    private static async Task<BundleStore> WithCommittedVersionOne(TestBundles bundles, List<string> served, IServingHealth? health = null,
        ProbationOptions? probation = null, TimeProvider? time = null)
    {
        var store = bundles.OpenStore((_, directory, _) => { served.Add(Path.GetFileName(directory)); return Task.CompletedTask; }, health, probation, time);
        store.Install(TestBundles.Name, "1", bundles.MakeArchive(1));
        await store.ActivateAsync(TestBundles.Name, "1", Token);
        return store;
    }

    [Fact]
    public async Task A_good_version_passes_its_reference_checks_and_latency_comparison_and_is_committed()
    {
        using var bundles = new TestBundles();
        var served = new List<string>();
        using var store = await WithCommittedVersionOne(bundles, served);
        store.Install(TestBundles.Name, "2", bundles.MakeArchive(2));
        await store.ActivateAsync(TestBundles.Name, "2", Token);
        Assert.Equal(DeploymentPhase.Probation, store.GetState(TestBundles.Name).Phase);

        var verdict = await store.ProbateAsync(TestBundles.Name, Token);

        Assert.True(verdict.Passed, verdict.Reason);
        Assert.Equal(2, verdict.Figures["reference_samples"]);
        Assert.True(verdict.Figures["reference_max_deviation"] <= 1e-3);
        Assert.Equal(1, verdict.Figures["latency_compared"]);
        Assert.True(verdict.Figures["latency_ratio"] > 0);
        var state = store.GetState(TestBundles.Name);
        Assert.Equal(("2", "1", DeploymentPhase.Committed), (state.ActiveVersion, state.PreviousVersion, state.Phase));
        Assert.Equal(["1", "2"], served);
    }

    [Fact]
    public async Task Outputs_off_beyond_tolerance_roll_back_to_the_previous_version_with_the_reason()
    {
        using var bundles = new TestBundles();
        var served = new List<string>();
        using var store = await WithCommittedVersionOne(bundles, served);
        store.Install(TestBundles.Name, "2", bundles.MakeArchive(2, flaw: BundleFlaw.OutputsOff));
        await store.ActivateAsync(TestBundles.Name, "2", Token);

        var verdict = await store.ProbateAsync(TestBundles.Name, Token);

        Assert.False(verdict.Passed);
        Assert.Matches("reference sample 0: output '.+' differs by .+, more than its tolerance 0.001", verdict.Reason);
        Assert.Equal(("2", "1"), (verdict.Version, verdict.RestoredVersion));
        var state = store.GetState(TestBundles.Name);
        Assert.Equal(("1", DeploymentPhase.RolledBack), (state.ActiveVersion, state.Phase));
        Assert.Contains("version 2 failed probation", state.LastFailure);
        Assert.Equal(["1", "2", "1"], served);
    }

    [Fact]
    public async Task A_version_doing_three_times_the_work_is_rolled_back_on_latency_against_the_replaced_one()
    {
        using var bundles = new TestBundles();
        var served = new List<string>();
        using var store = await WithCommittedVersionOne(bundles, served,
            probation: new ProbationOptions { Period = TimeSpan.Zero, LatencyRounds = 10, MaxLatencyRatio = 1.3 });
        store.Install(TestBundles.Name, "2", bundles.MakeArchive(2, flaw: BundleFlaw.Slower));
        await store.ActivateAsync(TestBundles.Name, "2", Token);

        var verdict = await store.ProbateAsync(TestBundles.Name, Token);

        Assert.False(verdict.Passed, $"latency ratio {verdict.Figures.GetValueOrDefault("latency_ratio")}");
        Assert.Contains("the replaced version's", verdict.Reason);
        Assert.Equal(0, verdict.Figures["reference_max_deviation"], 1e-4);
        Assert.Equal("1", store.GetState(TestBundles.Name).ActiveVersion);
    }

    [Fact]
    public async Task Errors_in_live_traffic_over_the_probation_period_roll_back_and_time_is_injected()
    {
        using var bundles = new TestBundles();
        var served = new List<string>();
        var counters = new Counters();
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var probation = new ProbationOptions { Period = TimeSpan.FromMinutes(10), LatencyRounds = 3, MaxLatencyRatio = 100, MaxErrorRate = 0.02 };
        using var store = await WithCommittedVersionOne(bundles, served, counters, probation, time);
        store.Install(TestBundles.Name, "2", bundles.MakeArchive(2));
        await store.ActivateAsync(TestBundles.Name, "2", Token);
        counters.Current = new ServingCounters(1000, 3, 990);

        var probating = store.ProbateAsync(TestBundles.Name, Token);
        counters.Current = new ServingCounters(1200, 13, 1180);
        while (!probating.IsCompleted)
        {
            time.Advance(TimeSpan.FromMinutes(1));
            await Task.Delay(5, Token);
        }
        var verdict = await probating;

        Assert.False(verdict.Passed);
        Assert.Equal("error rate 5% over 200 requests exceeds 2%", verdict.Reason);
        Assert.Equal(200, verdict.Figures["requests"]);
        Assert.True(verdict.Figures["probation_seconds"] >= 600);
        Assert.Equal("1", store.GetState(TestBundles.Name).ActiveVersion);
    }

    [Fact]
    public async Task Low_slo_attainment_fails_but_too_few_requests_are_not_judged()
    {
        using var bundles = new TestBundles();
        var served = new List<string>();
        var counters = new Counters();
        var probation = new ProbationOptions { Period = TimeSpan.Zero, LatencyRounds = 3, MaxLatencyRatio = 100, MinRequests = 50 };
        using var store = await WithCommittedVersionOne(bundles, served, counters, probation);
        store.Install(TestBundles.Name, "2", bundles.MakeArchive(2));
        await store.ActivateAsync(TestBundles.Name, "2", Token);
        store.Install(TestBundles.Name, "3", bundles.MakeArchive(3));

        // Health is read at the start and the end; with no period both reads see the same counters.
        var quiet = await store.ProbateAsync(TestBundles.Name, Token);
        Assert.True(quiet.Passed, quiet.Reason);

        await store.ActivateAsync(TestBundles.Name, "3", Token);
        var slow = new SloDuringProbation(counters);
        using var judged = new BundleStore(new BundleStoreOptions { Root = bundles.StoreRoot, TrustedKeysDirectory = bundles.TrustedDirectory, Probation = probation },
            health: slow);
        // The reopened store found version 3 on probation after a "restart" and rolled it back: the restart may be its fault.
        var state = judged.GetState(TestBundles.Name);
        Assert.Equal(("2", DeploymentPhase.RolledBack), (state.ActiveVersion, state.Phase));
        Assert.Contains("restarted while version 3 was on probation", state.LastFailure);
    }

    private sealed class SloDuringProbation(Counters counters) : IServingHealth
    {
        public ServingCounters Read(string bundleName) => counters.Current;
    }

    [Fact]
    public async Task The_fleet_can_roll_back_a_committed_version_and_an_activation_the_server_refuses_keeps_the_old_one()
    {
        using var bundles = new TestBundles();
        var served = new List<string>();
        bool refuse = false;
        using var store = bundles.OpenStore((_, directory, _) =>
        {
            if (refuse)
            {
                throw new InvalidOperationException("the runtime cannot open it");
            }
            served.Add(Path.GetFileName(directory));
            return Task.CompletedTask;
        });
        store.Install(TestBundles.Name, "1", bundles.MakeArchive(1));
        await store.ActivateAsync(TestBundles.Name, "1", Token);
        store.Install(TestBundles.Name, "2", bundles.MakeArchive(2));
        await store.ActivateAsync(TestBundles.Name, "2", Token);
        Assert.True((await store.ProbateAsync(TestBundles.Name, Token)).Passed);

        var rolledBack = await store.RollbackAsync(TestBundles.Name, "rollout halted: 3 of 10 devices failed", Token);

        Assert.Equal(("1", DeploymentPhase.RolledBack, "rollout halted: 3 of 10 devices failed"), (rolledBack.ActiveVersion, rolledBack.Phase, rolledBack.LastFailure));
        Assert.Equal(["1", "2", "1"], served);

        store.Install(TestBundles.Name, "3", bundles.MakeArchive(3));
        refuse = true;
        var refused = await Assert.ThrowsAsync<DeploymentRefusedException>(() => store.ActivateAsync(TestBundles.Name, "3", Token));
        Assert.Contains("the runtime cannot open it; version 1 stays active", refused.Message);
        Assert.Equal("1", store.GetState(TestBundles.Name).ActiveVersion);
    }

    [Fact]
    public async Task Old_versions_are_pruned_but_the_active_and_previous_ones_are_kept()
    {
        using var bundles = new TestBundles();
        var served = new List<string>();
        using var store = await WithCommittedVersionOne(bundles, served);
        for (int version = 2; version <= 5; version++)
        {
            store.Install(TestBundles.Name, $"{version}", bundles.MakeArchive(version));
            await store.ActivateAsync(TestBundles.Name, $"{version}", Token);
            Assert.True((await store.ProbateAsync(TestBundles.Name, Token)).Passed);
        }

        Assert.Equal([3L, 4, 5], store.InstalledVersions(TestBundles.Name));
        Assert.Equal(("5", "4"), (store.GetState(TestBundles.Name).ActiveVersion, store.GetState(TestBundles.Name).PreviousVersion));
    }
}
