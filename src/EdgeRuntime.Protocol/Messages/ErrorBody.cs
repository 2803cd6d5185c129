using MessagePack;

namespace EdgeRuntime.Protocol.Messages;

/// <summary>The body of an Error frame, answering the request with the same id (0 when it could not be read).</summary>
[MessagePackObject]
public sealed class ErrorBody
{
    [Key("code")] public int Code { get; set; }
    [Key("message")] public string Message { get; set; } = "";
}
