using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;

namespace EdgeRuntime.Devices;

/// <summary>
/// One sensor reading: a value, or the reason there is none (TryRead style rather than NaN or exceptions,
/// so a consumer always sees why a figure is missing).
/// </summary>
[JsonConverter(typeof(ReadingJsonConverterFactory))]
public readonly record struct Reading<T>
{
    private Reading(ReadingStatus status, T? value, string? reason)
    {
        Status = status;
        Value = value;
        Reason = reason;
    }

    public ReadingStatus Status { get; }

    /// <summary>The value when <see cref="Status"/> is Ok; the last value seen when Stale; default otherwise.</summary>
    public T? Value { get; }

    /// <summary>Why the reading is unavailable or stale; null when Ok.</summary>
    public string? Reason { get; }

    public bool IsOk => Status == ReadingStatus.Ok;

    public static Reading<T> Ok(T value) => new(ReadingStatus.Ok, value, null);

    public static Reading<T> Unavailable(string reason) => new(ReadingStatus.Unavailable, default, reason);

    public static Reading<T> Stale(T value, string reason) => new(ReadingStatus.Stale, value, reason);

    /// <summary>The value only when it is trustworthy.</summary>
    public bool TryGetValue([MaybeNullWhen(false)] out T value)
    {
        value = Value!;
        return Status == ReadingStatus.Ok;
    }

    /// <summary>The same status and reason with the value converted (for unit changes).</summary>
    public Reading<TResult> Select<TResult>(Func<T, TResult> convert) => Status switch
    {
        ReadingStatus.Ok => Reading<TResult>.Ok(convert(Value!)),
        ReadingStatus.Stale => Reading<TResult>.Stale(convert(Value!), Reason!),
        _ => Reading<TResult>.Unavailable(Reason!),
    };

    public override string ToString() => Status switch
    {
        ReadingStatus.Ok => Value?.ToString() ?? "",
        ReadingStatus.Stale => $"{Value} (stale: {Reason})",
        _ => $"unavailable: {Reason}",
    };
}
