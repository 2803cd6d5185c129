namespace EdgeRuntime.Data;

/// <summary>Element types of arrays read from or written to data files (.npy, IDX).</summary>
public enum DataElementType
{
    Float32,
    Float64,
    Float16,
    Int8,
    UInt8,
    Int16,
    UInt16,
    Int32,
    Int64,
    UInt32,
    UInt64,
    Bool,
}
