namespace EdgeRuntime.Zoo;

/// <summary>The classifier's input samples and their rotation labels (0 upright, 1 turned by 180 degrees).</summary>
public sealed record OcrInputFiles(string Inputs, string Labels, int Count);
