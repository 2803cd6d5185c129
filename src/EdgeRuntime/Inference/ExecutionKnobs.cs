namespace EdgeRuntime.Inference;

/// <summary>
/// How one inference is executed: how many intra-op threads work on it and whether ONNX Runtime's pool threads
/// busy-wait (spin) for work instead of sleeping. One thread runs on the caller's thread alone, so spinning does not
/// apply to it. Any other count (0 by convention) means the runtime's full pool (<see cref="SharedOrtEnvironment.IntraOpThreads"/>).
/// </summary>
public readonly record struct ExecutionKnobs(int Threads, bool Spin)
{
    public const int All = 0;

    /// <summary>The caller's thread only: no pool threads wake, the least CPU per inference.</summary>
    public static ExecutionKnobs SingleThread => new(1, false);

    /// <summary>Every thread of the shared pool.</summary>
    public static ExecutionKnobs AllThreads(bool spin = false) => new(All, spin);

    /// <summary>Every distinct setting, in order of CPU cost: one thread, the pool, the spinning pool.</summary>
    public static IReadOnlyList<ExecutionKnobs> Settings { get; } = [SingleThread, AllThreads(spin: false), AllThreads(spin: true)];

    /// <summary>The setting a <see cref="Code"/> names ("1", "all", "all+spin"), or null for any other text.</summary>
    public static ExecutionKnobs? FromCode(string? code)
    {
        foreach (var setting in Settings)
        {
            if (setting.Code == code)
            {
                return setting;
            }
        }
        return null;
    }

    public bool IsSingleThread => Threads == 1;

    /// <summary>Threads that work on a run: 1, or the shared pool's size.</summary>
    public int ThreadCount => IsSingleThread ? 1 : Math.Max(1, SharedOrtEnvironment.IntraOpThreads);

    /// <summary>The form sessions are keyed by: one thread never spins, more threads mean the whole pool.</summary>
    public ExecutionKnobs Normalized => IsSingleThread ? SingleThread : AllThreads(Spin);

    /// <summary>Parses "1", "all", "1,nospin", "all,spin" (also "threads=1;spin=off").</summary>
    public static ExecutionKnobs Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int? threads = null;
        bool spin = false;
        foreach (string raw in text.Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string part = raw.ToLowerInvariant();
            if (part.StartsWith("threads=", StringComparison.Ordinal))
            {
                part = part["threads=".Length..];
            }
            switch (part)
            {
                case "spin" or "spin=on" or "spin=1" or "spin=true":
                    spin = true;
                    break;
                case "nospin" or "spin=off" or "spin=0" or "spin=false":
                    spin = false;
                    break;
                case "all":
                    threads = All;
                    break;
                default:
                    if (int.TryParse(part, out int count) && count >= 0)
                    {
                        threads = count;
                        break;
                    }
                    throw new FormatException($"'{raw}' in execution knobs '{text}' is neither a thread count (1, all) nor spin/nospin");
            }
        }
        return new ExecutionKnobs(threads ?? throw new FormatException($"execution knobs '{text}' name no thread count (1 or all)"), spin).Normalized;
    }

    /// <summary>Short form for status and telemetry: "1", "all", "all+spin".</summary>
    public string Code => IsSingleThread ? "1" : Spin ? "all+spin" : "all";

    public override string ToString() => IsSingleThread ? "1 thread" : $"all {ThreadCount} threads, {(Spin ? "spinning" : "no spin")}";
}
