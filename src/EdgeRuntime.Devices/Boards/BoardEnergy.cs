namespace EdgeRuntime.Devices.Boards;

/// <summary>
/// Energy from CPU time on a board: one core busy for one second costs the board's dynamic CPU power at full load
/// divided by its cores, scaled by (f / fmax)^exponent at a lower clock (the same model the simulated board uses).
/// Idle and rest-of-board power are left out: they do not change with the inference served.
/// </summary>
public static class BoardEnergy
{
    /// <summary>Joules per CPU-second at <paramref name="cpuMhz"/> (null: full clock); null when the board has no power model.</summary>
    public static double? JoulesPerCpuSecond(BoardDescriptor board, double? cpuMhz = null)
    {
        if (board.Simulation is not { } power)
        {
            return null;
        }
        double perCore = power.DynamicWattsAtMax / Math.Max(1, board.CpuFreq.Cores);
        if (cpuMhz is double mhz && mhz > 0 && board.CpuFreq.StepsMhz.Count > 0)
        {
            perCore *= Math.Pow(Math.Min(1, mhz / board.CpuFreq.StepsMhz[0]), power.FrequencyExponent);
        }
        return perCore;
    }
}
