using System.Collections.Concurrent;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.Simulation;
using EdgeRuntime.Governance;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRuntime.Server.Tests;

/// <summary>
/// The daemon on a battery-powered sysfs tree: a capacity file that turns to garbage or disappears must not let the
/// governor climb back to heavier variants, and the daemon says so once, and once more when it reads again.
/// </summary>
public sealed class UnreadableBatteryTests
{
    private static readonly BoardDescriptor Generic = BoardCatalog.BuiltIn().Get(BoardCatalog.GenericLinuxId);

    [Fact]
    public async Task Garbage_or_a_missing_capacity_holds_the_battery_tier_and_is_logged_once_each_way()
    {
        using var directory = new TestDirectory();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var board = new SimulatedBoard(Generic, directory["sysfs"]) { ExternalPower = false };
        board.SetBatteryPercent(30);
        board.WriteTree();
        var logs = new CapturingLoggers();
        await using var server = new EdgertdServer(new ServerOptions
        {
            RuntimeDirectory = directory["run"],
            Bundles = [TestBundles.CostedPair(directory["costed"], Generic.Id)],
            Workers = 1,
            IntraOpThreads = 1,
            Board = Generic.Id,
            SysfsRoot = board.Root.RootDirectory,
        }, time, logs);
        await server.StartAsync();
        // A generous SLO, so latency at the idle board's low clock never stands in the way: only the battery decides.
        server.Registry.Models[0].SetHints(new Dictionary<string, string> { ["slo_p95_ms"] = "1000" });
        string Current() => server.Registry.Models[0].CurrentVariant;
        void Ticks(int count)
        {
            for (int i = 0; i < count; i++)
            {
                time.Advance(TimeSpan.FromSeconds(0.5));
            }
        }

        // 30% caps energy at 60% of the reference: only the lighter "b" fits.
        Ticks(4);
        Assert.Equal("b", Current());
        string capacity = Path.Combine(board.Root.RootDirectory, "sys/class/power_supply/battery/capacity");
        await File.WriteAllTextAsync(capacity, "abc\n");
        Ticks(60); // 30 s: three times the dwell that let it climb before the fix
        Assert.Equal("b", Current());
        var decision = server.Registry.Models[0].Report().Decisions[0].Latest;
        Assert.Equal(DecisionReason.SensorsUnknown, decision.Reason);
        Assert.Contains("battery capacity unreadable", decision.Detail);
        File.Delete(capacity);
        Ticks(60);
        Assert.Equal("b", Current());
        Assert.Single(logs.Lines, l => l.Contains("Battery capacity unknown"));

        // Readable again, at a level with no cap: one recovery line, and after the dwell the heavier variant returns.
        await File.WriteAllTextAsync(capacity, "80\n");
        Ticks(60);
        Assert.Single(logs.Lines, l => l.Contains("Battery capacity readable again: 80%"));
        var last = server.Registry.Models[0].Report().Decisions[0].Latest;
        Assert.True(Current() == "a", $"still {Current()}: " + string.Join(" | ", server.Registry.Models[0].Report().Decisions.Select(d => $"{d.Count}x {d.Latest.Previous}->{d.Latest.Variant} {d.Latest.Reason} {d.Latest.Detail}")));
    }

    private sealed class CapturingLoggers : ILoggerFactory, ILoggerProvider
    {
        public ConcurrentQueue<string> Lines { get; } = new();
        public ILogger CreateLogger(string categoryName) => new Logger(Lines);
        public void AddProvider(ILoggerProvider provider) { }
        public void Dispose() { }

        private sealed class Logger(ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue(formatter(state, exception));
        }
    }
}
