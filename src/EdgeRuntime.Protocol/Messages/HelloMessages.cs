using MessagePack;

namespace EdgeRuntime.Protocol.Messages;

/// <summary>Opens a session. Required first on TCP, where it carries the token; optional on the Unix socket.</summary>
[MessagePackObject]
public sealed class HelloRequest
{
    [Key("client")] public string? Client { get; set; }
    [Key("token")] public string? Token { get; set; }
}

[MessagePackObject]
public sealed class HelloResponse
{
    [Key("server")] public string Server { get; set; } = "";
    [Key("protocol_version")] public int ProtocolVersion { get; set; }
    [Key("max_frame_bytes")] public int MaxFrameBytes { get; set; }
    [Key("models")] public string[] Models { get; set; } = [];
}
