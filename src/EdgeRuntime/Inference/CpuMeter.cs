namespace EdgeRuntime.Inference;

/// <summary>CPU spent over a recent window: per inference and as a share of the machine.</summary>
public sealed record CpuWindow(double Seconds, long Inferences, double CpuSeconds, int Cores)
{
    /// <summary>Process CPU-seconds per inference (everything the process did, shared out over its inferences); null without any.</summary>
    public double? CpuSecondsPerInference => Inferences > 0 ? CpuSeconds / Inferences : null;

    /// <summary>Share of all cores the process kept busy.</summary>
    public double Utilisation => Seconds > 0 ? CpuSeconds / Seconds / Math.Max(1, Cores) : 0;
}

/// <summary>
/// The process's CPU time against its count of inferences, sampled whenever asked and kept for a window, so that
/// "CPU-seconds per inference" covers what the process really spent, ONNX Runtime's pool threads and the daemon's own
/// work included (a caller-thread clock around each run would miss the pool threads). Thread-safe.
/// </summary>
public sealed class CpuMeter(TimeProvider time, TimeSpan window, Func<TimeSpan>? processCpu = null)
{
    private readonly Func<TimeSpan> _processCpu = processCpu ?? CpuClock.Process;
    private readonly Lock _gate = new();
    private readonly Queue<(long At, TimeSpan Cpu, long Inferences)> _samples = new();
    private readonly (long At, TimeSpan Cpu, long Inferences) _start = (time.GetTimestamp(), (processCpu ?? CpuClock.Process)(), 0);

    /// <summary>Records the current CPU time and count, and returns the figures over the window (since the oldest sample in it).</summary>
    public CpuWindow Sample(long inferences)
    {
        long now = time.GetTimestamp();
        var cpu = _processCpu();
        lock (_gate)
        {
            while (_samples.Count > 0 && time.GetElapsedTime(_samples.Peek().At, now) > window)
            {
                _samples.Dequeue();
            }
            var oldest = _samples.Count > 0 ? _samples.Peek() : _start;
            _samples.Enqueue((now, cpu, inferences));
            while (_samples.Count > 4096)
            {
                _samples.Dequeue();
            }
            return new CpuWindow(time.GetElapsedTime(oldest.At, now).TotalSeconds, inferences - oldest.Inferences,
                (cpu - oldest.Cpu).TotalSeconds, Environment.ProcessorCount);
        }
    }

    /// <summary>CPU time of the process since the meter was made.</summary>
    public TimeSpan Total => _processCpu() - _start.Cpu;
}
