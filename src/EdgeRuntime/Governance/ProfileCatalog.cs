using System.Reflection;

namespace EdgeRuntime.Governance;

/// <summary>The profiles shipped with the runtime (the repository's profiles/ folder, embedded).</summary>
public static class ProfileCatalog
{
    private const string Prefix = "EdgeRuntime.Profiles.";

    public static IReadOnlyList<string> DeviceClasses { get; } =
    [
        .. Assembly.GetExecutingAssembly().GetManifestResourceNames()
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal))
            .Select(n => n[Prefix.Length..^".json".Length])
            .Order(),
    ];

    /// <summary>The shipped profile for a device class, or the generic one when there is none.</summary>
    public static GovernorProfile BuiltIn(string deviceClass)
    {
        string name = DeviceClasses.Contains(deviceClass) ? deviceClass : "generic-linux";
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(Prefix + name + ".json")
            ?? throw new ProfileException($"no built-in profile for '{deviceClass}' and no generic one");
        using var reader = new StreamReader(stream);
        var profile = ProfileJson.Parse(reader.ReadToEnd(), $"built-in profile {name}");
        return name == deviceClass ? profile : profile with { DeviceClass = deviceClass };
    }
}
