using System.Formats.Tar;
using System.Text;
using EdgeRuntime.Bundles;
using EdgeRuntime.Deployment.Signing;
using EdgeRuntime.Bench.Deployment;
using EdgeRuntime.Deployment.Tests.Support;

namespace EdgeRuntime.Deployment.Tests;

public class SignedInstallTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_signed_archive_installs_side_by_side_and_the_first_activation_is_committed()
    {
        using var bundles = new TestBundles();
        var served = new List<string>();
        using var store = bundles.OpenStore((_, directory, _) => { served.Add(directory); return Task.CompletedTask; });

        string archive = bundles.MakeArchive(1);
        var installed = store.Install(TestBundles.Name, "1", archive);
        Assert.Equal(bundles.Key.KeyId, installed.SignedByKeyId);
        Assert.Equal(installed, store.Install(TestBundles.Name, "1", archive));
        Assert.Equal(DeploymentPhase.None, store.GetState(TestBundles.Name).Phase);

        await store.ActivateAsync(TestBundles.Name, "1", Token);

        var state = store.GetState(TestBundles.Name);
        Assert.Equal(("1", DeploymentPhase.Committed), (state.ActiveVersion, state.Phase));
        Assert.Equal([installed.Directory], served);
        Assert.Equal(installed.Directory, store.ActiveDirectory(TestBundles.Name));
        Assert.Equal(1, store.VerifyActive(TestBundles.Name).Manifest.Version);
        Assert.True(File.Exists(Path.Combine(installed.Directory, BundleSignature.FileName)));
    }

    [Fact]
    public async Task Unsigned_untrusted_and_revoked_bundles_are_refused_with_the_reason_and_the_active_version_stays()
    {
        using var bundles = new TestBundles();
        using var store = bundles.OpenStore();
        store.Install(TestBundles.Name, "1", bundles.MakeArchive(1));
        await store.ActivateAsync(TestBundles.Name, "1", Token);
        var stranger = bundles.NewKey("stranger");
        var leaked = bundles.NewKey("leaked");
        bundles.Trust(leaked);
        bundles.Revoke(leaked);

        var unsigned = Assert.Throws<DeploymentRefusedException>(() => store.Install(TestBundles.Name, "2", bundles.MakeArchive(2, flaw: BundleFlaw.Unsigned)));
        var untrusted = Assert.Throws<DeploymentRefusedException>(() => store.Install(TestBundles.Name, "2", bundles.MakeArchive(2, stranger)));
        var revoked = Assert.Throws<DeploymentRefusedException>(() => store.Install(TestBundles.Name, "2", bundles.MakeArchive(2, leaked)));

        Assert.Equal(DeploymentRefusal.Unsigned, unsigned.Refusal);
        Assert.Equal(DeploymentRefusal.UntrustedKey, untrusted.Refusal);
        Assert.Contains(stranger.KeyId, untrusted.Message);
        Assert.Equal(DeploymentRefusal.RevokedKey, revoked.Refusal);
        Assert.Contains("revoked", revoked.Message);
        Assert.Equal("1", store.GetState(TestBundles.Name).ActiveVersion);
        Assert.Equal([1L], store.InstalledVersions(TestBundles.Name));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(store.Root, "staging")));
    }

    [Fact]
    public async Task During_key_rotation_bundles_signed_by_either_trusted_key_install()
    {
        using var bundles = new TestBundles();
        var next = bundles.NewKey("next");
        bundles.Trust(next);
        using var store = bundles.OpenStore();

        store.Install(TestBundles.Name, "1", bundles.MakeArchive(1));
        await store.ActivateAsync(TestBundles.Name, "1", Token);
        var second = store.Install(TestBundles.Name, "2", bundles.MakeArchive(2, next));

        Assert.Equal(next.KeyId, second.SignedByKeyId);
        Assert.Equal(2, TrustedKeys.Load(bundles.TrustedDirectory).List().Count);
    }

    [Fact]
    public async Task A_replayed_older_signed_version_is_refused_as_a_downgrade()
    {
        using var bundles = new TestBundles();
        using var store = bundles.OpenStore();
        string first = bundles.MakeArchive(1);
        store.Install(TestBundles.Name, "1", first);
        await store.ActivateAsync(TestBundles.Name, "1", Token);
        store.Install(TestBundles.Name, "2", bundles.MakeArchive(2));
        await store.ActivateAsync(TestBundles.Name, "2", Token);
        await store.ProbateAsync(TestBundles.Name, Token);

        var replay = Assert.Throws<DeploymentRefusedException>(() => store.Install(TestBundles.Name, "1", first));
        var activation = await Assert.ThrowsAsync<DeploymentRefusedException>(() => store.ActivateAsync(TestBundles.Name, "1", Token));

        Assert.Equal(DeploymentRefusal.Downgrade, replay.Refusal);
        Assert.Contains("older than version 2", replay.Message);
        Assert.Equal(DeploymentRefusal.Downgrade, activation.Refusal);
        Assert.Equal("2", store.GetState(TestBundles.Name).ActiveVersion);
    }

    [Fact]
    public async Task An_archive_whose_version_differs_from_the_announced_one_is_refused()
    {
        using var bundles = new TestBundles();
        using var store = bundles.OpenStore();

        var refused = Assert.Throws<DeploymentRefusedException>(() => store.Install(TestBundles.Name, "7", bundles.MakeArchive(3)));

        Assert.Equal(DeploymentRefusal.InvalidBundle, refused.Refusal);
        Assert.Contains("version 3, not 'fashion' version 7", refused.Message);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task One_changed_byte_anywhere_in_the_archive_is_refused_and_the_active_version_is_untouched()
    {
        using var bundles = new TestBundles();
        using var store = bundles.OpenStore();
        store.Install(TestBundles.Name, "1", bundles.MakeArchive(1));
        await store.ActivateAsync(TestBundles.Name, "1", Token);
        byte[] original = File.ReadAllBytes(bundles.MakeArchive(2));
        var regions = DataRegions(original);
        // Every byte would take minutes: each header's first byte, checksum and a field further in, a spread
        // through each file's contents, the padding after it, the end-of-archive blocks, and random ones.
        var offsets = new SortedSet<int> { original.Length - 1024, original.Length - 1 };
        var random = new Random(20);
        foreach (var (_, start, length) in regions)
        {
            // The checksum field (148-155, outside its own sum, terminator included) and the size field's terminator.
            offsets.UnionWith([start - 512, .. Enumerable.Range(start - 512 + 148, 8), start - 512 + 135, start - 512 + 257, start - 1]);
            for (int i = 0; i < 8; i++)
            {
                offsets.Add(start + (int)((long)length * i / 8));
            }
            if ((start + length) % 512 != 0)
            {
                offsets.Add(start + length);
            }
        }
        for (int i = 0; i < 60; i++)
        {
            offsets.Add(random.Next(original.Length));
        }
        string tampered = bundles.Temp("tampered.tar");
        int refusedNamingFile = 0;
        foreach (int offset in offsets)
        {
            byte[] bytes = (byte[])original.Clone();
            bytes[offset] ^= 0x20;
            File.WriteAllBytes(tampered, bytes);

            var refused = Assert.Throws<DeploymentRefusedException>(() => store.Install(TestBundles.Name, "2", tampered));

            var inFile = regions.FirstOrDefault(r => offset >= r.Start && offset < r.Start + r.Length);
            if (inFile.Name is not null && inFile.Name != BundleManifest.FileName && inFile.Name != BundleSignature.FileName)
            {
                Assert.Equal(DeploymentRefusal.HashMismatch, refused.Refusal);
                Assert.Contains($"'{inFile.Name}'", refused.Message);
                refusedNamingFile++;
            }
        }

        Assert.True(refusedNamingFile >= 16, $"{refusedNamingFile} tampered file contents");
        Assert.Equal("1", store.GetState(TestBundles.Name).ActiveVersion);
        Assert.Equal([1L], store.InstalledVersions(TestBundles.Name));
        Assert.Equal(1, store.VerifyActive(TestBundles.Name).Manifest.Version);
    }

    [Fact]
    public async Task A_changed_manifest_or_signature_is_refused_as_a_bad_signature()
    {
        using var bundles = new TestBundles();
        using var store = bundles.OpenStore();
        string bundle = bundles.MakeBundle(2);
        string manifestPath = Path.Combine(bundle, BundleManifest.FileName);
        File.WriteAllText(manifestPath, File.ReadAllText(manifestPath).Replace("\"version\": 2", "\"version\": 9"));

        var refused = Assert.Throws<DeploymentRefusedException>(() => store.Install(TestBundles.Name, "9", bundles.Pack(bundle)));

        Assert.Equal(DeploymentRefusal.BadSignature, refused.Refusal);
        Assert.Contains("does not match manifest.json", refused.Message);
        await Task.CompletedTask;
    }

    [Theory]
    [InlineData("../escape.onnx", "'..'")]
    [InlineData("/etc/escape", "not a relative path")]
    [InlineData("link", "SymbolicLink")]
    public void Archives_with_paths_out_of_the_bundle_or_links_are_refused(string entryName, string reason)
    {
        using var bundles = new TestBundles();
        using var store = bundles.OpenStore();
        string archive = bundles.Temp("hostile.tar");
        using (var stream = File.Create(archive))
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax))
        {
            var entry = entryName == "link"
                ? new PaxTarEntry(TarEntryType.SymbolicLink, entryName) { LinkName = "/etc/passwd" }
                : new PaxTarEntry(TarEntryType.RegularFile, entryName) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes("x")) };
            writer.WriteEntry(entry);
        }

        var refused = Assert.Throws<DeploymentRefusedException>(() => store.Install(TestBundles.Name, "1", archive));

        Assert.Equal(DeploymentRefusal.ArchiveCorrupt, refused.Refusal);
        Assert.Contains(entryName == "link" ? "type '2'" : reason, refused.Message);
        Assert.False(File.Exists(Path.Combine(store.Root, "escape.onnx")));
    }

    [Fact]
    public void An_archive_over_the_size_cap_is_refused_before_anything_is_written()
    {
        using var bundles = new TestBundles();
        string archive = bundles.MakeArchive(1);
        using var store = new BundleStore(new BundleStoreOptions
        {
            Root = bundles.StoreRoot,
            TrustedKeysDirectory = bundles.TrustedDirectory,
            Limits = new ArchiveLimits { MaxTotalBytes = 100_000 },
        });

        var refused = Assert.Throws<DeploymentRefusedException>(() => store.Install(TestBundles.Name, "1", archive));

        Assert.Equal(DeploymentRefusal.ArchiveCorrupt, refused.Refusal);
        Assert.Contains("more than 100000 bytes", refused.Message);
        Assert.Empty(store.InstalledVersions(TestBundles.Name));
    }

    [Fact]
    public async Task A_changed_byte_in_an_installed_file_makes_the_next_start_fall_back_to_the_previous_version()
    {
        using var bundles = new TestBundles();
        string model;
        using (var store = bundles.OpenStore())
        {
            store.Install(TestBundles.Name, "1", bundles.MakeArchive(1));
            await store.ActivateAsync(TestBundles.Name, "1", Token);
            var second = store.Install(TestBundles.Name, "2", bundles.MakeArchive(2));
            await store.ActivateAsync(TestBundles.Name, "2", Token);
            await store.ProbateAsync(TestBundles.Name, Token);
            model = Directory.GetFiles(second.Directory, "*.onnx").Single();
        }
        using (var file = new FileStream(model, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = file.Length / 2;
            int value = file.ReadByte();
            file.Position--;
            file.WriteByte((byte)(value ^ 1));
        }

        using var reopened = bundles.OpenStore();

        var state = reopened.GetState(TestBundles.Name);
        Assert.Equal(("1", DeploymentPhase.RolledBack), (state.ActiveVersion, state.Phase));
        Assert.Contains($"'{Path.GetFileName(model)}'", string.Join("\n", reopened.Recovery.Actions));
        Assert.Contains("version 1 restored", state.LastFailure);
        Assert.Equal(1, reopened.VerifyActive(TestBundles.Name).Manifest.Version);
    }

    /// <summary>Where each entry's contents lie in a ustar archive.</summary>
    private static List<(string Name, int Start, int Length)> DataRegions(byte[] archive)
    {
        var regions = new List<(string, int, int)>();
        int offset = 0;
        while (offset + 512 <= archive.Length && archive.AsSpan(offset, 512).ContainsAnyExcept((byte)0))
        {
            string name = Encoding.ASCII.GetString(archive, offset, 100).TrimEnd('\0');
            int size = Convert.ToInt32(Encoding.ASCII.GetString(archive, offset + 124, 12).Trim('\0', ' '), 8);
            regions.Add((name, offset + 512, size));
            offset += 512 + (size + 511) / 512 * 512;
        }
        return regions;
    }
}
