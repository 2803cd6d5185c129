using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>Checks that an initializer's declared type and dims agree with the data it stores, without decoding it.</summary>
internal static class InitializerChecks
{
    public static string? Problem(TensorProto tensor)
    {
        var type = (OnnxDataType)tensor.DataType;
        string label = $"Initializer '{tensor.Name}'";
        if (type == OnnxDataType.Undefined || !Enum.IsDefined(type))
        {
            return $"{label} has no valid data type (data_type = {tensor.DataType}).";
        }

        long count;
        try
        {
            count = TensorShapes.ElementCount(tensor.Dims);
        }
        catch (Exception ex) when (ex is ArgumentException or OverflowException)
        {
            return $"{label} has invalid dims {TensorShapes.Format(tensor.Dims)}.";
        }

        string described = $"{label} ({OnnxDataTypes.Name(type)} {TensorShapes.Format(tensor.Dims)})";
        long? expectedBytes = OnnxDataTypes.ByteSize(type, count);

        if (ExternalTensorData.IsExternal(tensor))
        {
            foreach (var entry in tensor.ExternalData)
            {
                if (entry.Key == "length" && long.TryParse(entry.Value, out long length) && expectedBytes is { } needed && length != needed)
                {
                    return $"{described} declares {length} bytes of external data, but its type and dims need {needed}.";
                }
            }

            return null;
        }

        if (!tensor.RawData.IsEmpty)
        {
            if (expectedBytes is { } needed && tensor.RawData.Length != needed)
            {
                return $"{described} has {tensor.RawData.Length} bytes of raw_data, but its type and dims need {needed}.";
            }

            return null;
        }

        if (TypedField(tensor, type) is not { } field || count == 0)
        {
            return null;
        }

        if (field.Count == 0)
        {
            return $"{described} has no data: neither raw_data nor {field.Name} is set.";
        }

        return field.Count == count ? null : $"{described} has {field.Count} values in {field.Name}, but its dims need {count}.";
    }

    private static (string Name, int Count)? TypedField(TensorProto tensor, OnnxDataType type) => type switch
    {
        OnnxDataType.Float => ("float_data", tensor.FloatData.Count),
        OnnxDataType.Double => ("double_data", tensor.DoubleData.Count),
        OnnxDataType.Int64 => ("int64_data", tensor.Int64Data.Count),
        OnnxDataType.UInt32 or OnnxDataType.UInt64 => ("uint64_data", tensor.Uint64Data.Count),
        OnnxDataType.String => ("string_data", tensor.StringData.Count),
        OnnxDataType.Int32 or OnnxDataType.Int16 or OnnxDataType.UInt16 or OnnxDataType.Int8 or OnnxDataType.UInt8
            or OnnxDataType.Bool or OnnxDataType.Float16 or OnnxDataType.BFloat16 => ("int32_data", tensor.Int32Data.Count),
        _ => null, // complex and sub-byte types pack values differently; not checked here
    };
}
