using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>Building and reading the declared type of graph inputs, outputs and value infos.</summary>
public static class OnnxValueInfo
{
    /// <summary>A tensor value info, e.g. <c>CreateTensor("input", OnnxDataType.Float, "batch", 3, 224, 224)</c>.</summary>
    public static ValueInfoProto CreateTensor(string name, OnnxDataType elementType, params ReadOnlySpan<OnnxDim> shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var info = new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)elementType } },
        };
        info.SetShape(shape);
        return info;
    }

    /// <summary>A tensor value info whose shape (even its rank) is not declared.</summary>
    public static ValueInfoProto CreateTensorOfUnknownShape(string name, OnnxDataType elementType)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)elementType } },
        };
    }

    public static bool IsTensor(this ValueInfoProto info)
    {
        ArgumentNullException.ThrowIfNull(info);
        return info.Type?.ValueCase == TypeProto.ValueOneofCase.TensorType;
    }

    /// <summary>The element type, or <see cref="OnnxDataType.Undefined"/> when the value is not a tensor.</summary>
    public static OnnxDataType GetElementType(this ValueInfoProto info) =>
        info.IsTensor() ? (OnnxDataType)info.Type.TensorType.ElemType : OnnxDataType.Undefined;

    /// <summary>The declared dims, or null when the value is not a tensor or declares no shape.</summary>
    public static IReadOnlyList<OnnxDim>? GetShape(this ValueInfoProto info)
    {
        if (!info.IsTensor() || info.Type.TensorType.Shape is not { } shape)
        {
            return null;
        }

        var dims = new OnnxDim[shape.Dim.Count];
        for (int i = 0; i < dims.Length; i++)
        {
            var dim = shape.Dim[i];
            dims[i] = dim.ValueCase switch
            {
                TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => OnnxDim.Known(dim.DimValue),
                TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam when dim.DimParam.Length > 0 => OnnxDim.Symbolic(dim.DimParam),
                _ => OnnxDim.Unknown,
            };
        }

        return dims;
    }

    /// <summary>Replaces the declared shape; the value must already be a tensor.</summary>
    public static void SetShape(this ValueInfoProto info, params ReadOnlySpan<OnnxDim> shape)
    {
        if (!info.IsTensor())
        {
            throw new InvalidOperationException($"Value '{info.Name}' is not a tensor, so it has no shape to set.");
        }

        var proto = new TensorShapeProto();
        foreach (var dim in shape)
        {
            var dimension = new TensorShapeProto.Types.Dimension();
            if (dim.Value is { } value)
            {
                dimension.DimValue = value;
            }
            else if (dim.Symbol is { } symbol)
            {
                dimension.DimParam = symbol;
            }

            proto.Dim.Add(dimension);
        }

        info.Type.TensorType.Shape = proto;
    }
}
