namespace EdgeRuntime.Inference;

/// <summary>A request's tensors do not fit the model: wrong names, types, ranks or sizes.</summary>
public sealed class InvalidInputException(string message) : ArgumentException(message);
