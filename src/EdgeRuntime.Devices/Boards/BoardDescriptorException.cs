namespace EdgeRuntime.Devices.Boards;

/// <summary>A board descriptor that cannot be read or is wrong; the message names the file and the field.</summary>
public sealed class BoardDescriptorException(string message, Exception? inner = null) : Exception(message, inner);
