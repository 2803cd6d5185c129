namespace EdgeRuntime.Simulation;

/// <summary>
/// How much slower each board runs a model than the machine the variants were measured on, until a profile
/// carries the board's own measured latencies. Estimates from public single-core CPU benchmark ratios
/// against a current x86-64 server core (AVX2); latency also scales with the simulated clock.
/// </summary>
public static class BoardSpeed
{
    private static readonly Dictionary<string, double> SlowdownByBoard = new()
    {
        ["raspberry-pi-4"] = 6.0,   // Cortex-A72 at 1.5 GHz
        ["raspberry-pi-5"] = 2.5,   // Cortex-A76 at 2.4 GHz
        ["jetson-nano"] = 6.5,      // Cortex-A57 at 1.43 GHz
        ["jetson-orin-nano"] = 2.8, // Cortex-A78AE at 1.5 GHz
        ["generic-linux"] = 1.0,
    };

    public static double SlowdownFor(string board) => SlowdownByBoard.GetValueOrDefault(board, 1.0);

    public static IReadOnlyDictionary<string, double> Table => SlowdownByBoard;
}
