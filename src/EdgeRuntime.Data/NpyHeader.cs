namespace EdgeRuntime.Data;

/// <summary>What a .npy file's header says about the array that follows it.</summary>
public sealed class NpyHeader
{
    public required DataElementType ElementType { get; init; }
    public required long[] Shape { get; init; }

    /// <summary>True when the data is column-major (NumPy's fortran_order).</summary>
    public bool FortranOrder { get; init; }

    /// <summary>True when the file stores multi-byte elements big-endian ('&gt;' descr); reads swap them.</summary>
    public bool IsBigEndian { get; init; }

    /// <summary>Format version: 1.0, 2.0 or 3.0.</summary>
    public Version FormatVersion { get; init; } = new(1, 0);

    /// <summary>Byte offset of the first element from the start of the file.</summary>
    public long DataOffset { get; init; }

    public int Rank => Shape.Length;
    public long ElementCount => ShapeMath.ElementCountOrOverflow(Shape);
    public long DataByteLength => ElementCount * ElementType.SizeOf();

    public override string ToString() =>
        $"{ElementType.ToName()}{ShapeMath.ToTuple(Shape)}{(FortranOrder ? " fortran-order" : "")}{(IsBigEndian ? " big-endian" : "")} (npy v{FormatVersion.Major}.{FormatVersion.Minor})";
}
