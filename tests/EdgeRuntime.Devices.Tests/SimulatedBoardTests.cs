using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.Simulation;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRuntime.Devices.Tests;

public sealed class SimulatedBoardTests
{
    private static readonly BoardDescriptor Pi4 = BoardCatalog.BuiltIn().Get("raspberry-pi-4");

    [Fact]
    public void A_raspberry_pi_4_under_sustained_load_throttles_at_its_trip_points_in_steps_and_recovers()
    {
        using var tree = new TempTree();
        var clock = new FakeTimeProvider();
        var start = clock.GetUtcNow();
        var board = new SimulatedBoard(Pi4, tree.Directory, clock.Advance) { WriteAfterEachStep = false };
        var dvfs = Pi4.Simulation!.Dvfs;
        var steps = Pi4.CpuFreq.StepsMhz;
        Assert.Equal([1500.0, 1000, 750, 600], steps);

        double firstThrottleAt = double.NaN;
        for (int second = 0; second < 900; second++)
        {
            board.Step(TimeSpan.FromSeconds(1), 1.0);
            if (double.IsNaN(firstThrottleAt) && board.FrequencyChanges.Count > 0)
            {
                firstThrottleAt = second;
            }
        }
        Assert.Equal(TimeSpan.FromSeconds(900), clock.GetUtcNow() - start);
        // Reaches the soft limit within a few minutes of full load, not at once.
        Assert.InRange(firstThrottleAt, 120, 400);
        var first = board.FrequencyChanges[0];
        Assert.Equal((1500.0, 1000.0), (first.FromMhz, first.ToMhz));
        Assert.InRange(first.Celsius, dvfs.SoftLimitCelsius, dvfs.SoftLimitCelsius + 1);
        Assert.Equal(firstThrottleAt + 1, first.At.TotalSeconds, 1e-6);

        // Every change is one documented step, down only at or above the soft limit, up only below it minus the hysteresis.
        foreach (var change in board.FrequencyChanges)
        {
            int from = steps.ToList().IndexOf(change.FromMhz), to = steps.ToList().IndexOf(change.ToMhz);
            Assert.True(from >= 0 && to >= 0, $"{change} is not between documented steps");
            Assert.Equal(1, Math.Abs(from - to));
            if (to > from)
            {
                Assert.True(change.Celsius >= dvfs.SoftLimitCelsius, change.ToString());
            }
            else
            {
                Assert.True(change.Celsius < dvfs.SoftLimitCelsius - dvfs.RecoverHysteresisCelsius, change.ToString());
            }
        }
        Assert.True(board.Celsius < dvfs.HardLimitCelsius);
        Assert.True(board.Throttle.HasFlag(ThrottleFlags.SoftTemperatureLimitOccurred));
        Assert.True(board.Throttle.HasFlag(ThrottleFlags.FrequencyCappedOccurred));

        // Load drops: it cools below the recovery threshold and returns to full speed.
        for (int second = 0; second < 300; second++)
        {
            board.Step(TimeSpan.FromSeconds(1), 0.05);
        }
        Assert.Equal(1500, board.CapMhz);
        Assert.True(board.Celsius < dvfs.SoftLimitCelsius - dvfs.RecoverHysteresisCelsius);
        Assert.False(board.Throttle.HasFlag(ThrottleFlags.FrequencyCapped));
        Assert.Equal(1500, board.FrequencyChanges[^1].ToMhz);
    }

    [Fact]
    public void In_a_hot_enclosure_it_steps_down_through_every_documented_step()
    {
        using var tree = new TempTree();
        var board = new SimulatedBoard(Pi4, tree.Directory, ambientCelsius: 55) { WriteAfterEachStep = false };
        for (int second = 0; second < 600; second++)
        {
            board.Step(TimeSpan.FromSeconds(1), 1.0);
        }
        var downs = board.FrequencyChanges.Where(c => c.ToMhz < c.FromMhz).Select(c => c.ToMhz).Distinct().ToList();
        Assert.Equal([1000.0, 750, 600], downs.Order().Reverse());
        Assert.True(board.Celsius < Pi4.Simulation!.Dvfs.HardLimitCelsius);
    }

    [Fact]
    public void The_hard_limit_drops_straight_to_the_lowest_step()
    {
        using var tree = new TempTree();
        var board = new SimulatedBoard(Pi4, tree.Directory) { WriteAfterEachStep = false };
        // A burst far beyond the model's own power heats the die past 85 °C within one check.
        board.StepWithPower(TimeSpan.FromSeconds(5), 200);
        Assert.True(board.Celsius >= Pi4.Simulation!.Dvfs.HardLimitCelsius);
        Assert.Equal(600, board.CapMhz);
        Assert.Contains(board.FrequencyChanges, c => c.FromMhz == 1500 && c.ToMhz == 600 && c.Reason.Contains("hard limit"));
        Assert.True(board.Throttle.HasFlag(ThrottleFlags.Throttled));
    }

    [Fact]
    public void The_same_run_gives_the_same_result_whatever_the_step_size()
    {
        using var a = new TempTree();
        using var b = new TempTree();
        var coarse = new SimulatedBoard(Pi4, a.Directory) { WriteAfterEachStep = false };
        var fine = new SimulatedBoard(Pi4, b.Directory) { WriteAfterEachStep = false };
        coarse.Step(TimeSpan.FromSeconds(100), 0.5);
        for (int i = 0; i < 400; i++)
        {
            fine.Step(TimeSpan.FromSeconds(0.25), 0.5);
        }
        Assert.Equal(coarse.Celsius, fine.Celsius, 1e-6);
    }

    [Fact]
    public void The_battery_drains_with_power_charges_on_external_power_and_raises_under_voltage_when_low()
    {
        using var tree = new TempTree();
        var board = new SimulatedBoard(Pi4, tree.Directory) { WriteAfterEachStep = false };
        board.Step(TimeSpan.FromMinutes(30), 1.0);
        double afterLoad = board.BatteryPercent!.Value;
        Assert.InRange(afterLoad, 1, 99);
        board.ExternalPower = true;
        board.Step(TimeSpan.FromMinutes(10), 1.0);
        Assert.True(board.BatteryPercent > afterLoad);
        board.ExternalPower = false;
        board.Step(TimeSpan.FromHours(3), 1.0);
        Assert.Equal(0, board.BatteryPercent!.Value, 1e-9);
        Assert.True(board.BatteryLow);
        Assert.True(board.Throttle.HasFlag(ThrottleFlags.UnderVoltage));
    }

    [Fact]
    public void Bad_simulation_inputs_are_refused_with_the_reason()
    {
        using var tree = new TempTree();
        var board = new SimulatedBoard(Pi4, tree.Directory);
        Assert.Contains("utilisation", Assert.Throws<ArgumentOutOfRangeException>(() => board.Step(TimeSpan.FromSeconds(1), 1.5)).Message);
        Assert.Contains("longer than zero", Assert.Throws<ArgumentOutOfRangeException>(() => board.Step(TimeSpan.Zero, 0.5)).Message);
        Assert.Contains("CPU power", Assert.Throws<ArgumentOutOfRangeException>(() => board.StepWithPower(TimeSpan.FromSeconds(1), -1)).Message);
        Assert.Contains("no simulation", Assert.Throws<BoardDescriptorException>(() => new SimulatedBoard(BoardCatalog.BuiltIn().Get("android-phone"), tree.Directory)).Message);
        Assert.Throws<ArgumentException>(() => new SysfsTreeWriter(Sysfs.SysfsRoot.Host));
    }

    [Fact]
    public void A_trace_recorded_from_the_simulated_board_replays_through_the_same_readers()
    {
        using var tree = new TempTree();
        using var replayTree = new TempTree();
        var clock = new FakeTimeProvider();
        var board = new SimulatedBoard(Pi4, tree.Directory, clock.Advance);
        var options = new DeviceMonitorOptions { ReadI2c = false, RunBoardTools = false };
        using var monitor = DeviceMonitor.ForBoard(Pi4, tree.Root, options, clock);
        string tracePath = Path.Combine(tree.Directory, "trace.jsonl");
        using (var writer = new StreamWriter(tracePath))
        {
            for (int i = 0; i < 30; i++)
            {
                board.Step(TimeSpan.FromSeconds(10), 1.0);
                DeviceTrace.Append(writer, monitor.Read());
            }
        }
        File.AppendAllText(tracePath, "{\"timestamp\": \"2000-01-01T00:0");

        var trace = DeviceTrace.Load(tracePath);
        Assert.Equal(30, trace.Count);
        var recorded = DeviceTrace.ReplayAt(trace, TimeSpan.FromSeconds(125), replayTree.Root);
        Assert.Equal(trace[12], recorded);
        using var replayMonitor = DeviceMonitor.ForBoard(Pi4, replayTree.Root, options, new FakeTimeProvider());
        var replayed = replayMonitor.Read();
        Assert.Equal(recorded.HottestCelsius.Value, replayed.HottestCelsius.Value, 1e-3);
        Assert.Equal(recorded.CpuMhz.Value, replayed.CpuMhz.Value);
        Assert.Equal(recorded.Throttle.Value, replayed.Throttle.Value);
        Assert.Equal(recorded.Battery!.CapacityPercent.Value, replayed.Battery!.CapacityPercent.Value);

        File.WriteAllText(tracePath, "not json\n{}\n");
        Assert.Contains("line 1", Assert.Throws<InvalidDataException>(() => DeviceTrace.Load(tracePath)).Message);
    }
}
