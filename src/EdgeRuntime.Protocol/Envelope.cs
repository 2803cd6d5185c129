namespace EdgeRuntime.Protocol;

/// <summary>The header of a decoded frame; <see cref="Body"/> is a slice of the frame, decoded on demand.</summary>
public readonly record struct Envelope(int Version, MessageType Type, uint RequestId, ReadOnlyMemory<byte> Body);
