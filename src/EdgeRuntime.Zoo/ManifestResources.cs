using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace EdgeRuntime.Zoo;

/// <summary>
/// Reads the manifest resources embedded in a .NET assembly from its bytes, the data that
/// <c>Assembly.GetManifestResourceStream</c> returns, without loading the assembly: no code of the
/// package runs, and assemblies for other frameworks or with missing dependencies read the same.
/// </summary>
public static class ManifestResources
{
    /// <summary>Names and sizes of the resources embedded in the assembly (linked resources are skipped).</summary>
    /// <exception cref="InvalidDataException">The bytes are not a .NET assembly.</exception>
    public static IReadOnlyList<(string Name, long Length)> List(byte[] assembly, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        using var pe = Open(assembly, sourceName, out var metadata);
        var resources = new List<(string, long)>();
        foreach (var (name, offset) in EmbeddedResources(metadata))
        {
            resources.Add((name, ReadBlock(pe, offset, sourceName, name, readData: false).Length));
        }

        return resources;
    }

    /// <summary>The bytes of one embedded resource.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a .NET assembly or hold no such resource.</exception>
    public static byte[] Read(byte[] assembly, string resourceName, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        ArgumentException.ThrowIfNullOrEmpty(resourceName);
        using var pe = Open(assembly, sourceName, out var metadata);
        var resources = EmbeddedResources(metadata).ToList();
        foreach (var (name, offset) in resources)
        {
            if (name == resourceName)
            {
                return ReadBlock(pe, offset, sourceName, name, readData: true).Data!;
            }
        }

        throw new InvalidDataException(
            $"{sourceName} has no embedded resource '{resourceName}'; it has: {(resources.Count == 0 ? "none" : string.Join(", ", resources.Select(r => r.Name)))}.");
    }

    private static PEReader Open(byte[] assembly, string sourceName, out MetadataReader metadata)
    {
        var pe = new PEReader(new MemoryStream(assembly, writable: false));
        try
        {
            if (!pe.HasMetadata || pe.PEHeaders.CorHeader is null)
            {
                throw new InvalidDataException($"{sourceName} is not a .NET assembly (no CLI metadata).");
            }

            metadata = pe.GetMetadataReader();
            return pe;
        }
        catch (BadImageFormatException ex)
        {
            pe.Dispose();
            throw new InvalidDataException($"{sourceName} is not a valid PE file: {ex.Message}", ex);
        }
        catch
        {
            pe.Dispose();
            throw;
        }
    }

    private static IEnumerable<(string Name, long Offset)> EmbeddedResources(MetadataReader metadata)
    {
        foreach (var handle in metadata.ManifestResources)
        {
            var resource = metadata.GetManifestResource(handle);
            // A nil implementation means the resource lives in this file's resources section.
            if (resource.Implementation.IsNil)
            {
                yield return (metadata.GetString(resource.Name), resource.Offset);
            }
        }
    }

    private static (int Length, byte[]? Data) ReadBlock(PEReader pe, long offset, string sourceName, string resourceName, bool readData)
    {
        var directory = pe.PEHeaders.CorHeader!.ResourcesDirectory;
        if (offset < 0 || offset + 4 > directory.Size)
        {
            throw new InvalidDataException($"{sourceName}: resource '{resourceName}' lies outside the resources section.");
        }

        var block = pe.GetSectionData(directory.RelativeVirtualAddress + (int)offset);
        var reader = block.GetReader();
        if (reader.Length < 4)
        {
            throw new InvalidDataException($"{sourceName}: resource '{resourceName}' is cut short.");
        }

        // Each resource is a 4-byte little-endian length followed by the data.
        int length = reader.ReadInt32();
        if (length < 0 || length > reader.RemainingBytes || offset + 4 + length > directory.Size)
        {
            throw new InvalidDataException($"{sourceName}: resource '{resourceName}' claims {length} bytes, more than the resources section holds.");
        }

        return (length, readData ? reader.ReadBytes(length) : null);
    }
}
