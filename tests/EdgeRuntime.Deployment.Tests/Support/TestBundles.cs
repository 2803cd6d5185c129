using EdgeRuntime.Bench.Deployment;
using EdgeRuntime.Deployment.Signing;

namespace EdgeRuntime.Deployment.Tests.Support;

/// <summary>A publisher (<see cref="BundleFactory"/>) and a device store root in one temporary directory per test.</summary>
internal sealed class TestBundles : IDisposable
{
    public const string Name = "fashion";

    private readonly TempDirectory _temp = new();

    public TestBundles()
    {
        Factory = new BundleFactory(Path.Combine(_temp.Path, "publisher"));
    }

    public BundleFactory Factory { get; }
    public KeyFiles Key => Factory.Key;
    public string TrustedDirectory => Factory.TrustedDirectory;
    public string StoreRoot => Path.Combine(_temp.Path, "device");
    public string Temp(string name) => _temp.File(name);

    public KeyFiles NewKey(string name) => Factory.NewKey(name);
    public void Trust(KeyFiles key) => Factory.Trust(key);
    public void Revoke(KeyFiles key) => Factory.Revoke(key);

    public string MakeBundle(long version, KeyFiles? key = null, BundleFlaw flaw = BundleFlaw.None) => Factory.MakeBundle(Name, version, flaw, key);

    public string MakeArchive(long version, KeyFiles? key = null, BundleFlaw flaw = BundleFlaw.None) => Factory.MakeArchive(Name, version, flaw, key);

    public string Pack(string bundleDirectory) => Factory.Pack(bundleDirectory);

    public BundleStore OpenStore(BundleActivation? activate = null, IServingHealth? health = null, ProbationOptions? probation = null, TimeProvider? time = null) =>
        new(new BundleStoreOptions
        {
            Root = StoreRoot,
            TrustedKeysDirectory = TrustedDirectory,
            Probation = probation ?? new ProbationOptions { Period = TimeSpan.Zero, LatencyRounds = 3, MaxLatencyRatio = 100 },
        }, activate, health, time);

    public void Dispose() => _temp.Dispose();
}
