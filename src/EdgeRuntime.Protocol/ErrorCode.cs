namespace EdgeRuntime.Protocol;

/// <summary>Why the daemon refused or failed a request. Sent as a number; PROTOCOL.md lists them.</summary>
public enum ErrorCode
{
    /// <summary>The frame is not well-formed MessagePack, has trailing bytes, or is not an envelope.</summary>
    MalformedFrame = 1,
    /// <summary>The length prefix exceeds the frame size cap.</summary>
    FrameTooLarge = 2,
    /// <summary>Arrays and maps nest deeper than the cap.</summary>
    NestingTooDeep = 3,
    UnsupportedVersion = 4,
    UnknownOperation = 5,
    /// <summary>The body is missing a field, has a field of the wrong type, or a value out of range.</summary>
    InvalidRequest = 6,
    UnknownModel = 7,
    UnknownVariant = 8,
    /// <summary>Tensors do not fit the model: names, element types, shapes or byte counts.</summary>
    InvalidInput = 9,
    /// <summary>The inference queue is full; retry later.</summary>
    Overloaded = 10,
    /// <summary>The request's deadline passed before it could run (it was not run) or while it ran (it was stopped).</summary>
    DeadlineExceeded = 11,
    Cancelled = 12,
    /// <summary>TCP connections must say hello with the right token first.</summary>
    Unauthorized = 13,
    ShuttingDown = 14,
    /// <summary>A new bundle could not be opened; the old one keeps serving.</summary>
    ReloadFailed = 15,
    /// <summary>No available variant meets the request's quality floor.</summary>
    QualityUnavailable = 16,
    NotSupported = 17,
    /// <summary>The variant failed while running; the message says how.</summary>
    InferenceFailed = 18,
    Internal = 19,
    /// <summary>The client did not finish its hello, a frame header or a frame body in time, or stayed idle too long; the connection is closed.</summary>
    TimedOut = 20,
}
