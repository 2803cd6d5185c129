using System.Globalization;
using EdgeRuntime.Bench.Deployment;

// Usage: EdgeRuntime.Deployment.CrashChild WORKSPACE SEED — deploys version after version until killed.
if (args.Length != 2 || !int.TryParse(args[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int seed))
{
    await Console.Error.WriteLineAsync("usage: EdgeRuntime.Deployment.CrashChild WORKSPACE SEED");
    return 2;
}
await DeployCrashChild.RunAsync(args[0], seed, Console.Out);
return 0;
