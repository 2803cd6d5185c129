using System.Text.Json;
using EdgeRuntime.Samples;

namespace EdgeRuntime.Cli.Tests;

public class DeployCommandTests
{
    [Fact]
    public async Task A_publisher_signs_and_packs_and_a_device_installs_activates_and_refuses_a_replay_with_the_reason()
    {
        using var temp = new TempDirectory();
        string model = SampleModels.WriteFashionCnn(temp.Path);
        string keys = temp.File("keys"), trusted = temp.File("trusted"), device = temp.File("device");
        var created = await Cli.RunAsync("keys", "new", "--out", keys, "--name", "release", "--json");
        Assert.True(created.ExitCode == 0, created.ToString());
        string keyId = JsonDocument.Parse(created.Output).RootElement.GetProperty("key_id").GetString()!;
        Directory.CreateDirectory(trusted);
        File.Copy(Path.Combine(keys, "release.pub"), Path.Combine(trusted, "release.pub"));
        Assert.Contains($"{keyId}   release.pub", (await Cli.RunAsync("keys", "list", trusted)).Output);

        string[] archives = new string[3];
        for (int version = 1; version <= 2; version++)
        {
            string bundle = temp.File($"b{version}");
            Assert.Equal(0, (await Cli.RunAsync("bundle", "create", bundle, "--model", model, "--name", "fashion")).ExitCode);
            var reference = await Cli.RunAsync("bundle", "reference", bundle, "--samples", "2");
            Assert.True(reference.ExitCode == 0, reference.ToString());
            Assert.Contains("recorded 2 reference input(s)", reference.Output);
            Assert.Contains($"version {version} with key {keyId}", (await Cli.RunAsync("bundle", "sign", bundle, "--key", Path.Combine(keys, "release.key"), "--version", $"{version}")).Output);
            archives[version] = temp.File($"fashion-{version}.tar");
            Assert.Equal(0, (await Cli.RunAsync("bundle", "pack", bundle, "--out", archives[version])).ExitCode);
        }

        foreach (int version in new[] { 1, 2 })
        {
            var installed = await Cli.RunAsync("deploy", "install", device, archives[version], "--trusted-keys", trusted, "--name", "fashion", "--version", $"{version}", "--activate");
            Assert.True(installed.ExitCode == 0, installed.ToString());
            Assert.Contains($"state: active {version}", installed.Output);
        }
        var replay = await Cli.RunAsync("deploy", "install", device, archives[1], "--trusted-keys", trusted, "--name", "fashion", "--version", "1");
        var status = await Cli.RunAsync("deploy", "status", device, "--trusted-keys", trusted, "--json");

        Assert.Equal(1, replay.ExitCode);
        Assert.Contains("version 1 is older than version 2", replay.Error);
        var entry = JsonDocument.Parse(status.Output).RootElement.GetProperty("bundles")[0].GetProperty("state");
        Assert.Equal("2", entry.GetProperty("active_version").GetString());
        Assert.Equal("1", entry.GetProperty("previous_version").GetString());
    }
}
