using System.Globalization;
using EdgeRuntime.Deployment;
using EdgeRuntime.Deployment.Signing;
using EdgeRuntime.Inference;

namespace EdgeRuntime.Bench.Deployment;

/// <summary>
/// The device process the deployment crash test kills: opens the store (recovering from the last kill), then
/// deploys version after version — download (the archive copied in chunks to a .part file, synced, renamed),
/// verify and install, activate (with a real runtime swap as the serving side does), probation — announcing each
/// step on stdout so the killer can aim. Every fourth version is one whose outputs are off, so rollbacks are
/// interrupted too.
/// </summary>
public static class DeployCrashChild
{
    public const string BundleName = "crash";

    public static async Task RunAsync(string workspace, int seed, TextWriter output, CancellationToken cancellationToken = default)
    {
        var layout = DeployCrashLayout.Of(workspace);
        ModelRuntime? serving = null;
        var options = layout.StoreOptions();
        using var store = new BundleStore(options, (_, directory, _) =>
        {
            var fresh = ModelRuntime.Open(directory, new RuntimeOptions { IntraOpThreads = 1 });
            Interlocked.Exchange(ref serving, fresh)?.Dispose();
            return Task.CompletedTask;
        });
        if (store.ActiveDirectory(BundleName) is string active)
        {
            serving = ModelRuntime.Open(active, new RuntimeOptions { IntraOpThreads = 1 });
        }
        Directory.CreateDirectory(layout.Downloads);
        foreach (string part in Directory.EnumerateFiles(layout.Downloads))
        {
            File.Delete(part);
        }
        var state = store.GetState(BundleName);
        await Say(output, $"open {state.ActiveVersion ?? "0"}");
        long next = Math.Max(store.InstalledVersions(BundleName).DefaultIfEmpty(0).Max(), long.Parse(state.ActiveVersion ?? "0", CultureInfo.InvariantCulture)) + 1;
        var random = new Random(seed);
        while (!cancellationToken.IsCancellationRequested)
        {
            long version = next++;
            string template = version % 4 == 0 ? layout.BadTemplate : layout.GoodTemplate;
            BundleSigner.Sign(template, layout.PrivateKey, version);
            string published = BundleArchive.Pack(template, Path.Combine(layout.Publisher, "published.tar")).ArchivePath;

            await Say(output, $"phase download {version}");
            string archive = Download(published, layout.Downloads, version, random);

            await Say(output, $"phase verify {version}");
            string text = version.ToString(CultureInfo.InvariantCulture);
            store.Install(BundleName, text, archive);
            File.Delete(archive);

            await Say(output, $"phase activate {version}");
            await store.ActivateAsync(BundleName, text, cancellationToken);

            await Say(output, $"phase probate {version}");
            var verdict = await store.ProbateAsync(BundleName, cancellationToken);
            await Say(output, $"done {version} {(verdict.Passed ? "committed" : "rolled-back")}");
        }
        serving?.Dispose();
    }

    /// <summary>What a resumable download does: chunks into a .part file, synced, then renamed into place.</summary>
    private static string Download(string source, string downloads, long version, Random random)
    {
        string part = Path.Combine(downloads, $"{version}.part");
        string done = Path.Combine(downloads, $"{version}.tar");
        using (var input = File.OpenRead(source))
        using (var outputFile = new FileStream(part, FileMode.Create, FileAccess.Write))
        {
            var buffer = new byte[16 * 1024 + random.Next(16 * 1024)];
            int read;
            while ((read = input.Read(buffer)) > 0)
            {
                outputFile.Write(buffer, 0, read);
                outputFile.Flush(flushToDisk: true);
            }
        }
        File.Move(part, done, overwrite: true);
        return done;
    }

    private static async Task Say(TextWriter output, string line)
    {
        await output.WriteLineAsync(line);
        await output.FlushAsync();
    }
}

/// <summary>Where the crash test keeps things: the publisher's templates and key, the device's store and downloads.</summary>
public sealed record DeployCrashLayout(string Workspace)
{
    public string Publisher => Path.Combine(Workspace, "publisher");
    public string GoodTemplate => Path.Combine(Workspace, "templates", "good");
    public string BadTemplate => Path.Combine(Workspace, "templates", "outputs-off");
    public string PrivateKey => Path.Combine(Publisher, "publisher", "release" + SigningKey.PrivateKeyExtension);
    public string TrustedKeys => Path.Combine(Publisher, "trusted");
    public string Store => Path.Combine(Workspace, "device");
    public string Downloads => Path.Combine(Workspace, "device-downloads");

    public static DeployCrashLayout Of(string workspace) => new(Path.GetFullPath(workspace));

    public BundleStoreOptions StoreOptions() => new()
    {
        Root = Store,
        TrustedKeysDirectory = TrustedKeys,
        Probation = new ProbationOptions { Period = TimeSpan.Zero, LatencyRounds = 2, MaxLatencyRatio = 100 },
    };
}
