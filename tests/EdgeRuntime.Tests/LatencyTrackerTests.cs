using EdgeRuntime.Inference;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRuntime.Tests;

public sealed class LatencyTrackerTests
{
    [Fact]
    public void Percentiles_use_nearest_rank_over_the_window()
    {
        var time = new FakeTimeProvider();
        var tracker = new LatencyTracker(time, capacity: 100);
        for (int ms = 1; ms <= 100; ms++)
        {
            tracker.Record(TimeSpan.FromMilliseconds(ms));
        }
        var snapshot = tracker.Snapshot();
        Assert.Equal(100, snapshot.WindowCount);
        Assert.Equal(1, snapshot.MinMs, 6);
        Assert.Equal(50, snapshot.P50Ms, 6);
        Assert.Equal(95, snapshot.P95Ms, 6);
        Assert.Equal(99, snapshot.P99Ms, 6);
        Assert.Equal(100, snapshot.MaxMs, 6);
        Assert.Equal(50.5, snapshot.MeanMs, 6);
    }

    [Fact]
    public void Old_samples_leave_the_window_and_the_ring_keeps_the_newest()
    {
        var time = new FakeTimeProvider();
        var tracker = new LatencyTracker(time, capacity: 4, window: TimeSpan.FromSeconds(10));
        tracker.Record(TimeSpan.FromMilliseconds(100));
        time.Advance(TimeSpan.FromSeconds(11));
        tracker.Record(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, tracker.Snapshot().WindowCount);
        Assert.Equal(1, tracker.Snapshot().MaxMs, 6);

        for (int i = 0; i < 10; i++)
        {
            tracker.Record(TimeSpan.FromMilliseconds(7));
        }
        var snapshot = tracker.Snapshot();
        Assert.Equal(4, snapshot.WindowCount);
        Assert.Equal(12, snapshot.TotalCount);
        Assert.Equal(7, snapshot.MinMs, 6);
    }

    [Fact]
    public void Ewma_moves_a_tenth_of_the_way_by_default()
    {
        var tracker = new LatencyTracker(new FakeTimeProvider());
        tracker.Record(TimeSpan.FromMilliseconds(10));
        tracker.Record(TimeSpan.FromMilliseconds(20));
        Assert.Equal(11, tracker.Snapshot().EwmaMs, 6);
    }

    [Fact]
    public void Empty_window_reports_nan_not_zero()
    {
        var snapshot = new LatencyTracker(new FakeTimeProvider()).Snapshot();
        Assert.True(double.IsNaN(snapshot.P95Ms));
        Assert.Equal(0, snapshot.WindowCount);
    }
}
