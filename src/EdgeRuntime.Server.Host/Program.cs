using EdgeRuntime.Server.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

try
{
    using var host = EdgertdHost.Build(args);
    await host.RunAsync();
    return 0;
}
catch (OptionsValidationException e)
{
    Console.Error.WriteLine($"edgertd: {string.Join("; ", e.Failures)}");
    return 2;
}
catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException or EdgeRuntime.Bundles.BundleException or FileNotFoundException)
{
    Console.Error.WriteLine($"edgertd: {e.Message}");
    return 1;
}
