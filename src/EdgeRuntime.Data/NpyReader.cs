using System.Buffers;

namespace EdgeRuntime.Data;

/// <summary>
/// Reads a .npy file's header up front and its rows (slices along the first axis) on demand,
/// so arrays larger than memory can be processed in batches.
/// </summary>
/// <remarks>
/// A 0-d array is treated as a single row with an empty row shape.
/// Fortran-order arrays can be loaded whole (<see cref="ReadAll"/> transposes them) but not row by row,
/// because their rows are not contiguous in the file.
/// A reader is not thread-safe: it moves one stream's position.
/// </remarks>
public sealed class NpyReader : IDisposable
{
    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly long _dataStart;
    private long _sequentialRow; // next row a non-seekable stream can deliver

    /// <summary>Reads the header from the stream's current position.</summary>
    /// <param name="sourceName">Named in error messages (usually the file path).</param>
    public NpyReader(Stream stream, string sourceName, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sourceName);
        _stream = stream;
        _leaveOpen = leaveOpen;
        SourceName = sourceName;
        try
        {
            long start = stream.CanSeek ? stream.Position : 0;
            Header = NpyHeaderCodec.Read(stream, sourceName);
            _dataStart = start + Header.DataOffset;
            if (stream.CanSeek)
            {
                long available = stream.Length - _dataStart;
                if (available < Header.DataByteLength)
                {
                    throw DataTooShort(available);
                }
            }
        }
        catch
        {
            if (!leaveOpen)
            {
                stream.Dispose();
            }
            throw;
        }
        Shape = Header.Shape;
        RowShape = Header.Rank == 0 ? [] : Header.Shape[1..];
        RowCount = Header.Rank == 0 ? 1 : Header.Shape[0];
        RowElementCount = ShapeMath.ElementCountOrOverflow(RowShape);
        RowByteLength = RowElementCount * Header.ElementType.SizeOf();
    }

    /// <summary>Opens a file and reads its header.</summary>
    public static NpyReader Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        return new NpyReader(stream, path);
    }

    public string SourceName { get; }
    public NpyHeader Header { get; }
    public DataElementType ElementType => Header.ElementType;
    public long[] Shape { get; }

    /// <summary>Length of the first axis (1 for a 0-d array).</summary>
    public long RowCount { get; }

    /// <summary>Shape of one row: the array's shape without its first axis.</summary>
    public long[] RowShape { get; }

    public long RowElementCount { get; }
    public long RowByteLength { get; }

    /// <summary>Reads rows [start, start+count) as an array of shape [count, ..RowShape].</summary>
    public NpyArray ReadRows(long start, int count)
    {
        long byteLength = CheckRowRange(start, count);
        if (byteLength > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"{count} rows are {byteLength} bytes, more than one array can hold");
        }
        var data = new byte[byteLength];
        ReadRowsCore(start, count, data);
        return new NpyArray(ElementType, [count, .. RowShape], data);
    }

    /// <summary>Reads rows [start, start+count) as little-endian element bytes into <paramref name="destination"/>.</summary>
    public void ReadRows(long start, int count, Span<byte> destination)
    {
        long byteLength = CheckRowRange(start, count);
        if (destination.Length < byteLength)
        {
            throw new ArgumentException($"destination holds {destination.Length} bytes but {count} rows need {byteLength}", nameof(destination));
        }
        ReadRowsCore(start, count, destination[..(int)byteLength]);
    }

    /// <summary>Reads rows [start, start+count) converted to float into <paramref name="destination"/>.</summary>
    public void ReadRowsAsFloat32(long start, int count, Span<float> destination)
    {
        long byteLength = CheckRowRange(start, count);
        long elements = count * RowElementCount;
        if (byteLength > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"{count} rows are {byteLength} bytes, more than one buffer can hold");
        }
        if (destination.Length < elements)
        {
            throw new ArgumentException($"destination holds {destination.Length} values but {count} rows have {elements}", nameof(destination));
        }
        if (ElementType == DataElementType.Float32)
        {
            ReadRowsCore(start, count, System.Runtime.InteropServices.MemoryMarshal.AsBytes(destination[..(int)elements]));
            return;
        }
        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)byteLength);
        try
        {
            Span<byte> bytes = buffer.AsSpan(0, (int)byteLength);
            ReadRowsCore(start, count, bytes);
            ElementConverter.ToFloat32(ElementType, bytes, destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads the rows from <paramref name="start"/> onwards in batches of up to <paramref name="batchSize"/> rows.</summary>
    public IEnumerable<NpyArray> ReadBatches(int batchSize, long start = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start, RowCount);
        return Iterate();

        IEnumerable<NpyArray> Iterate()
        {
            for (long row = start; row < RowCount; row += batchSize)
            {
                yield return ReadRows(row, (int)Math.Min(batchSize, RowCount - row));
            }
        }
    }

    /// <summary>Reads the whole array; Fortran-order data is transposed to row-major order.</summary>
    public NpyArray ReadAll()
    {
        long byteLength = Header.DataByteLength;
        if (byteLength > Array.MaxLength)
        {
            throw DataFormatErrors.Create(SourceName,
                $"array {Header} is {byteLength} bytes, too large to load at once; read it in batches with NpyReader.ReadRows");
        }
        var data = new byte[byteLength];
        ReadData(0, data);
        if (Header.FortranOrder && !HasTrivialFortranLayout())
        {
            data = FortranToRowMajor(data, Shape, ElementType.SizeOf());
        }
        return new NpyArray(ElementType, (long[])Shape.Clone(), data);
    }

    public void Dispose()
    {
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }

    private long CheckRowRange(long start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (start + count > RowCount)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"rows {start}..{start + count} are outside the array's {RowCount} rows");
        }
        if (Header.FortranOrder && !HasTrivialFortranLayout())
        {
            throw new NotSupportedException(
                $"{SourceName}: the array is stored in Fortran (column-major) order, so its rows are not contiguous; load it whole with NpyFile.Load, or save it with numpy.ascontiguousarray");
        }
        return count * RowByteLength;
    }

    private void ReadRowsCore(long start, int count, Span<byte> destination) => ReadData(start * RowByteLength, destination);

    private void ReadData(long offset, Span<byte> destination)
    {
        if (_stream.CanSeek)
        {
            _stream.Position = _dataStart + offset;
        }
        else if (offset != _sequentialRow * RowByteLength && !(RowByteLength == 0 && offset == 0))
        {
            throw new NotSupportedException($"{SourceName}: the stream cannot seek, so rows must be read in order from row {_sequentialRow}");
        }

        int got = NpyHeaderCodec.ReadUpTo(_stream, destination);
        if (got < destination.Length)
        {
            throw DataTooShort(offset + got);
        }
        if (!_stream.CanSeek && RowByteLength > 0)
        {
            _sequentialRow = (offset + destination.Length) / RowByteLength;
        }
        if (Header.IsBigEndian)
        {
            ElementConverter.ReverseEndianness(ElementType, destination);
        }
    }

    private InvalidDataException DataTooShort(long available) =>
        DataFormatErrors.Create(SourceName,
            $"data is shorter than the shape says: {Header} needs {Header.DataByteLength} bytes after the header, but only {Math.Max(available, 0)} are present");

    /// <summary>With at most one dimension longer than 1, column-major and row-major layouts coincide.</summary>
    private bool HasTrivialFortranLayout() => Shape.Count(d => d > 1) <= 1;

    private static byte[] FortranToRowMajor(byte[] source, long[] shape, int elementSize)
    {
        int rank = shape.Length;
        var fortranStrides = new long[rank];
        long stride = 1;
        for (int axis = 0; axis < rank; axis++)
        {
            fortranStrides[axis] = stride;
            stride *= shape[axis];
        }

        var result = new byte[source.Length];
        var index = new long[rank];
        long sourceElement = 0;
        long count = source.Length / elementSize;
        for (long target = 0; target < count; target++)
        {
            source.AsSpan((int)(sourceElement * elementSize), elementSize).CopyTo(result.AsSpan((int)(target * elementSize)));
            // Advance the row-major index like an odometer, tracking the column-major offset alongside.
            for (int axis = rank - 1; axis >= 0; axis--)
            {
                index[axis]++;
                sourceElement += fortranStrides[axis];
                if (index[axis] < shape[axis])
                {
                    break;
                }
                sourceElement -= fortranStrides[axis] * shape[axis];
                index[axis] = 0;
            }
        }
        return result;
    }
}
