using System.Globalization;
using EdgeRuntime.Bench.Durability;

// Usage: EdgeRuntime.Telemetry.CrashWriter DIR SEED — writes until killed.
if (args.Length != 2 || !int.TryParse(args[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int seed))
{
    await Console.Error.WriteLineAsync("usage: EdgeRuntime.Telemetry.CrashWriter DIR SEED");
    return 2;
}
await CrashWriter.RunAsync(args[0], seed, Console.Out);
return 0;
