namespace EdgeRuntime.Protocol;

/// <summary>What a frame carries. Requests and their replies share a number; errors and events have their own.</summary>
/// <remarks>Numbers are part of the wire format (PROTOCOL.md): never renumber, only add.</remarks>
public enum MessageType
{
    Hello = 1,
    Infer = 2,
    ListModels = 3,
    Status = 4,
    SetHints = 5,
    Subscribe = 6,
    Unsubscribe = 7,
    Reload = 8,
    Cancel = 9,
    Error = 64,
    Event = 65,
}
