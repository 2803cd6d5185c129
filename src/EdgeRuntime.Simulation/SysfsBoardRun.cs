using EdgeRuntime.Devices;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.Simulation;

namespace EdgeRuntime.Simulation;

/// <summary>
/// A simulated board driven through a load phase and an idle phase, its sysfs tree rewritten at every step so the
/// device monitor (or edgertd) can read it as a real board's; in virtual time, or in real time for a live watcher,
/// with every reading optionally traced.
/// </summary>
public static class SysfsBoardRun
{
    /// <param name="LoadSeconds">Simulated seconds at <paramref name="Utilisation"/>.</param>
    /// <param name="IdleSeconds">Simulated seconds idle afterwards.</param>
    /// <param name="StepSeconds">Simulated seconds per step; each step rewrites the tree.</param>
    /// <param name="AmbientCelsius">Ambient temperature; null for the descriptor's.</param>
    /// <param name="TracePath">File for every step's readings (JSON lines), or null.</param>
    /// <param name="Realtime">Step in real time.</param>
    public sealed record Plan(double LoadSeconds, double IdleSeconds, double Utilisation, double StepSeconds, double? AmbientCelsius = null,
        string? TracePath = null, bool Realtime = false)
    {
        /// <exception cref="ArgumentException">A figure out of range, named.</exception>
        public void Validate()
        {
            if (!(LoadSeconds >= 0) || !(IdleSeconds >= 0) || LoadSeconds + IdleSeconds > 7 * 24 * 3600)
            {
                throw new ArgumentException("the load and idle seconds must be zero or more and together at most a week");
            }
            if (!(Utilisation is >= 0 and <= 1))
            {
                throw new ArgumentException($"the load must be within 0..1, not {Utilisation}");
            }
            if (!(StepSeconds > 0) || StepSeconds > 60)
            {
                throw new ArgumentException($"the step must be within (0, 60] seconds, not {StepSeconds}");
            }
        }
    }

    public sealed record Outcome(string Board, string Root, double Seconds, double LoadSeconds, double Utilisation, double AmbientCelsius,
        double PeakCelsius, double FinalCelsius, double FinalMhz, ThrottleFlags FinalThrottle, double? FinalBatteryPercent,
        IReadOnlyList<FrequencyChange> FrequencyChanges, string? Trace);

    /// <summary>Runs the plan; a cancelled real-time run stops early and reports where it got to.</summary>
    /// <exception cref="ArgumentException">The plan is out of range, the board has no simulation section, or the directory is '/'.</exception>
    public static async Task<Outcome> RunAsync(BoardDescriptor board, string directory, Plan plan, CancellationToken cancellationToken = default)
    {
        plan.Validate();
        if (Path.GetFullPath(directory) == "/")
        {
            throw new ArgumentException("the simulated tree must not be written over '/'");
        }
        if (board.Simulation is null)
        {
            throw new ArgumentException($"board {board.Id} has no simulation section");
        }
        var clock = new VirtualTimeProvider(DateTimeOffset.UnixEpoch);
        var simulated = new SimulatedBoard(board, directory, clock.Advance, plan.AmbientCelsius);
        using var traceWriter = plan.TracePath is null ? null : new StreamWriter(plan.TracePath, append: false);
        using var monitor = traceWriter is null ? null
            : DeviceMonitor.ForBoard(board, simulated.Root, new DeviceMonitorOptions { ReadI2c = false, RunBoardTools = false }, clock);
        double peak = simulated.Celsius;
        var step = TimeSpan.FromSeconds(plan.StepSeconds);
        double total = plan.LoadSeconds + plan.IdleSeconds;
        for (double t = 0; t < total - 1e-9; t += plan.StepSeconds)
        {
            simulated.Step(step, t < plan.LoadSeconds ? plan.Utilisation : 0);
            peak = Math.Max(peak, simulated.Celsius);
            if (monitor is not null)
            {
                DeviceTrace.Append(traceWriter!, monitor.Read());
            }
            if (plan.Realtime)
            {
                try
                {
                    await Task.Delay(step, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        return new Outcome(board.Id, simulated.Root.RootDirectory, total, plan.LoadSeconds, plan.Utilisation, simulated.AmbientCelsius,
            Math.Round(peak, 2), Math.Round(simulated.Celsius, 2), simulated.FrequencyMhz, simulated.Throttle,
            simulated.BatteryPercent is { } b ? Math.Round(b, 2) : null, simulated.FrequencyChanges, plan.TracePath);
    }
}
