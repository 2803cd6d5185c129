using System.Diagnostics;
using System.Runtime.InteropServices;

namespace EdgeRuntime.Inference;

/// <summary>
/// CPU time consumed, not wall time: of the calling thread (the thread CPU clock) and of the whole process (every
/// thread, ONNX Runtime's pool threads included). On Linux both come from clock_gettime; elsewhere the process figure
/// comes from <see cref="Process.TotalProcessorTime"/> and the thread figure is unavailable (zero).
/// </summary>
public static partial class CpuClock
{
    private const int ClockProcessCpuTimeId = 2;
    private const int ClockThreadCpuTimeId = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    private static readonly bool Native = OperatingSystem.IsLinux() && Environment.Is64BitProcess;

    /// <summary>CPU time of the calling thread so far; zero where the platform has no thread clock.</summary>
    public static TimeSpan Thread() => Native ? Read(ClockThreadCpuTimeId) : TimeSpan.Zero;

    /// <summary>CPU time of the whole process so far (user + system, all threads).</summary>
    public static TimeSpan Process()
    {
        if (Native)
        {
            return Read(ClockProcessCpuTimeId);
        }
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    private static TimeSpan Read(int clock)
    {
        if (ClockGetTime(clock, out var time) != 0)
        {
            throw new InvalidOperationException($"clock_gettime({clock}) failed with errno {Marshal.GetLastPInvokeError()}");
        }
        return TimeSpan.FromTicks(time.Seconds * TimeSpan.TicksPerSecond + time.Nanoseconds / 100);
    }

    /// <summary>utime + stime of a process from /proc/PID/stat (Linux), the figure `top` and `ps` show.</summary>
    public static TimeSpan ProcStat(int pid)
    {
        string text = File.ReadAllText($"/proc/{pid}/stat");
        // The command name is in parentheses and may itself contain spaces or parentheses.
        int close = text.LastIndexOf(')');
        var fields = text[(close + 2)..].Split(' ');
        // Fields after the name start at state (field 3); utime is field 14 and stime field 15.
        long ticks = long.Parse(fields[11]) + long.Parse(fields[12]);
        return TimeSpan.FromSeconds(ticks / (double)ClockTicksPerSecond);
    }

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long SysConf(int name);

    private const int ScClockTicks = 2;

    /// <summary>USER_HZ, the unit of /proc's CPU times (100 on common Linux ABIs).</summary>
    public static int ClockTicksPerSecond { get; } = Native && SysConf(ScClockTicks) is > 0 and var hz ? (int)hz : 100;
}
