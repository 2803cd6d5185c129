using System.Diagnostics;
using System.Globalization;
using EdgeRuntime.Bench.Deployment;

namespace EdgeRuntime.Deployment.Tests;

public sealed class CrashTests
{
    private static ProcessStartInfo Child(string workspace, int seed) =>
        SiblingProgram.Start("EdgeRuntime.Deployment.CrashChild", workspace, seed.ToString(CultureInfo.InvariantCulture));

    [Fact]
    public void A_hundred_SIGKILLs_across_download_verify_activate_and_probation_always_restart_on_a_verified_version()
    {
        using var temp = new TempDirectory();

        var report = DeployCrashTest.Run(temp.Path, Child, kills: 100, seed: 20);

        Assert.Empty(report.Problems);
        foreach (string step in new[] { "download", "verify", "activate", "probate" })
        {
            Assert.True(report.KillsByStep[step] > 0, $"no kill landed in {step}: {string.Join(", ", report.KillsByStep)}");
        }
        // The kills interrupted real progress: versions got through, and bad ones were rolled back.
        Assert.True(report.VersionsCommitted > 0 && report.VersionsRolledBack > 0, $"{report.VersionsCommitted} committed, {report.VersionsRolledBack} rolled back");
    }
}
