namespace EdgeRuntime.Data;

/// <summary>Loads and saves whole arrays in NumPy's .npy format (versions 1.0, 2.0 and 3.0).</summary>
public static class NpyFile
{
    /// <summary>Loads a .npy file. Big-endian data is swapped and Fortran-order data transposed to row-major.</summary>
    /// <exception cref="InvalidDataException">The file is not a valid .npy file or uses an unsupported dtype.</exception>
    public static NpyArray Load(string path)
    {
        using var reader = NpyReader.Open(path);
        return reader.ReadAll();
    }

    /// <summary>Reads a .npy array from the stream's current position (the stream stays open).</summary>
    public static NpyArray Read(Stream stream, string sourceName = "<stream>")
    {
        using var reader = new NpyReader(stream, sourceName, leaveOpen: true);
        return reader.ReadAll();
    }

    /// <summary>Reads only the header of a .npy file.</summary>
    public static NpyHeader ReadHeader(string path)
    {
        using var reader = NpyReader.Open(path);
        return reader.Header;
    }

    /// <summary>Writes the array as a .npy file (format 1.0, little-endian, row-major) that numpy.load reads.</summary>
    public static void Save(string path, NpyArray array)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(array);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 16);
        Write(stream, array);
    }

    /// <summary>Writes the array in .npy format at the stream's current position.</summary>
    public static void Write(Stream stream, NpyArray array)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(array);
        stream.Write(NpyHeaderCodec.Encode(array.ElementType, array.Shape));
        stream.Write(array.Data.Span);
    }
}
