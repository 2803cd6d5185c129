using EdgeRuntime.Bench.Deployment;
using EdgeRuntime.Deployment;

namespace EdgeRuntime.Server.Tests;

internal static class DeviceStores
{
    /// <summary>A device store under the test directory with version 1 of the factory's fashion bundle active.</summary>
    public static async Task<string> WithFirstVersionAsync(TestDirectory directory, BundleFactory factory, CancellationToken cancellationToken)
    {
        string root = directory["store"];
        using var device = new BundleStore(new BundleStoreOptions { Root = root, TrustedKeysDirectory = factory.TrustedDirectory });
        device.Install("fashion", "1", factory.MakeArchive("fashion", 1));
        await device.ActivateAsync("fashion", "1", cancellationToken);
        return root;
    }
}
