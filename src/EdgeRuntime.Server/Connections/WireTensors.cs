using System.Buffers;
using System.Runtime.InteropServices;
using EdgeRuntime.Protocol;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Server.Connections;

/// <summary>Between wire tensors and the runtime's, checking everything a client could get wrong.</summary>
internal static class WireTensors
{
    public const int MaxInputs = 64;

    private static readonly Dictionary<string, ElementType> Types =
        Enum.GetValues<ElementType>().Where(t => t != ElementType.String).ToDictionary(t => t.ToName(), StringComparer.Ordinal);

    /// <summary>Wraps wire tensors as runtime inputs, in place where the bytes are aligned for their type.</summary>
    /// <param name="memory">Where aligned copies come from (pooled, returned with the request); null: new arrays.</param>
    /// <exception cref="ProtocolException">A name, type, shape or byte count is wrong (InvalidInput).</exception>
    public static NamedTensor[] ToInputs(WireTensor[] tensors, RequestMemory? memory = null)
    {
        if (tensors.Length == 0 || tensors.Length > MaxInputs)
        {
            throw Invalid($"a request needs 1 to {MaxInputs} input tensors, got {tensors.Length}");
        }
        var inputs = new NamedTensor[tensors.Length];
        for (int i = 0; i < tensors.Length; i++)
        {
            var wire = tensors[i];
            for (int j = 0; j < i; j++)
            {
                if (inputs[j].Name == wire.Name)
                {
                    throw Invalid($"input '{wire.Name}' is given twice");
                }
            }
            if (!Types.TryGetValue(wire.DataType, out var type))
            {
                throw Invalid($"input '{wire.Name}' has element type '{wire.DataType}'; expected one of {string.Join(", ", Types.Keys)}");
            }
            long count = 1;
            foreach (long dimension in wire.Shape)
            {
                if (dimension < 0)
                {
                    throw Invalid($"input '{wire.Name}' has a negative dimension in shape [{string.Join(",", wire.Shape)}]");
                }
                try
                {
                    count = checked(count * dimension);
                }
                catch (OverflowException)
                {
                    throw Invalid($"input '{wire.Name}': shape [{string.Join(",", wire.Shape)}] has too many elements");
                }
            }
            int size = type.SizeOf();
            if (count > wire.Data.Length / size || count * size != wire.Data.Length)
            {
                throw Invalid($"input '{wire.Name}': shape [{string.Join(",", wire.Shape)}] of {wire.DataType} needs {(count <= long.MaxValue / size ? (count * size).ToString(System.Globalization.CultureInfo.InvariantCulture) : "too many")} bytes, got {wire.Data.Length}");
            }
            inputs[i] = new NamedTensor(wire.Name, type, wire.Shape, Aligned(wire.Data, size, memory));
        }
        return inputs;
    }

    /// <summary>Refuses NaN and ±Inf in floating-point inputs, naming the input, the first bad flat index and how to allow them.</summary>
    public static void RejectNonFinite(NamedTensor[] inputs, string model)
    {
        foreach (var input in inputs)
        {
            if (NonFiniteValues.First(input.ElementType, input.Data.Span) is var (index, value))
            {
                string what = double.IsNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
                throw Invalid($"input '{input.Name}' holds {what} at index {index} (the first non-finite value); NaN and Inf inputs are refused " +
                    $"unless the request sets allow_non_finite or the daemon allows them for model '{model}' (AllowNonFiniteInputs)");
            }
        }
    }

    public static WireTensor ToWire(NamedTensor tensor) => new(tensor.Name, tensor.ElementType.ToName(), tensor.Shape, tensor.Data);

    /// <summary>The frame's own bytes when they sit at a multiple of the element size; otherwise an aligned copy.</summary>
    private static Memory<byte> Aligned(ReadOnlyMemory<byte> data, int elementSize, RequestMemory? memory)
    {
        if (elementSize > 1 && MemoryMarshal.TryGetArray(data, out var segment) && segment.Offset % elementSize != 0)
        {
            if (memory is null)
            {
                return data.ToArray();
            }
            var copy = memory.Rent(data.Length);
            data.CopyTo(copy);
            return copy;
        }
        return MemoryMarshal.AsMemory(data);
    }

    private static ProtocolException Invalid(string message) => new(ErrorCode.InvalidInput, message);
}

/// <summary>
/// What a request's input tensors point into: its frame, and aligned copies of tensors the frame held at an offset their
/// element type cannot use. The copies come from the shared pool, so a model's input (often larger than the 85 KB that
/// puts a new array on the large-object heap) costs no fresh memory per request.
/// </summary>
internal sealed class RequestMemory(IDisposable frame) : IDisposable
{
    private List<byte[]>? _rented;

    public Memory<byte> Rent(int length)
    {
        var array = ArrayPool<byte>.Shared.Rent(length);
        (_rented ??= []).Add(array);
        return array.AsMemory(0, length);
    }

    /// <summary>Gives the copies back, leaving the frame to its owner (a request refused before it became a job).</summary>
    public void ReturnCopies()
    {
        if (Interlocked.Exchange(ref _rented, null) is { } rented)
        {
            foreach (var array in rented)
            {
                ArrayPool<byte>.Shared.Return(array);
            }
        }
    }

    public void Dispose()
    {
        ReturnCopies();
        frame.Dispose();
    }
}
