namespace EdgeRuntime.Zoo;

/// <summary>A file the zoo installs into a model's cache folder, with the size and SHA-256 it must have.</summary>
/// <param name="FileName">Name inside the model's cache folder.</param>
/// <param name="PackagePath">Where it comes from inside the package (a path, or a resource of an assembly).</param>
public sealed record ZooFile(string FileName, string PackagePath, long Length, string Sha256);
