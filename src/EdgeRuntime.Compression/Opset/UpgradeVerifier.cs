using EdgeRuntime.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace EdgeRuntime.Compression.Opset;

/// <summary>
/// Runs the original and the upgraded model in ONNX Runtime on the same samples and measures how
/// far apart their outputs are, so an upgrade can be checked on real data before it is written.
/// </summary>
public static class UpgradeVerifier
{
    /// <param name="inputs">One array per model input, samples along the first axis, element types as the model declares.</param>
    /// <param name="limit">Use at most this many samples.</param>
    /// <param name="batchSize">Samples per run where the model's batch dimension is open.</param>
    /// <exception cref="ArgumentException">The inputs do not match the model's inputs.</exception>
    public static UpgradeCheck Compare(byte[] original, byte[] upgraded, IReadOnlyDictionary<string, NpyArray> inputs, int limit = 64, int batchSize = 16)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(upgraded);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var reference = new InferenceSession(original, options);
        using var candidate = new InferenceSession(upgraded, options);
        using var runOptions = new RunOptions();
        var feeds = MatchInputs(reference, inputs);
        long rows = feeds.Min(feed => feed.Data.Shape[0]);
        int samples = (int)Math.Min(rows, limit);
        int? fixedBatch = FixedBatch(reference);
        int chunk = fixedBatch ?? batchSize;
        if (fixedBatch is int size && samples < size)
        {
            throw new ArgumentException($"the model's batch is fixed at {size}, but only {samples} samples were given");
        }

        var outputNames = reference.OutputNames.ToArray();
        var worst = new double[outputNames.Length];
        var elements = new long[outputNames.Length];
        int compared = 0;
        for (int start = 0; start < samples; start += chunk)
        {
            int count = Math.Min(chunk, samples - start);
            if (fixedBatch is not null && count < chunk)
            {
                // A fixed batch cannot take a short last batch; the full ones were compared.
                break;
            }

            compared += count;
            var values = feeds.Select(feed => Slice(feed.Data, start, count)).ToArray();
            try
            {
                var names = feeds.Select(feed => feed.Name).ToArray();
                using var a = reference.Run(runOptions, names, values, outputNames);
                using var b = candidate.Run(runOptions, names, values, outputNames);
                for (int i = 0; i < outputNames.Length; i++)
                {
                    double[] x = AsDoubles(a[i], outputNames[i]);
                    double[] y = AsDoubles(b[i], outputNames[i]);
                    if (x.Length != y.Length)
                    {
                        worst[i] = double.PositiveInfinity;
                        continue;
                    }

                    for (int k = 0; k < x.Length; k++)
                    {
                        // Equals holds for NaN against NaN and for equal infinities, where subtraction gives NaN.
                        if (!x[k].Equals(y[k]))
                        {
                            double difference = Math.Abs(x[k] - y[k]);
                            worst[i] = double.IsNaN(difference) ? double.PositiveInfinity : Math.Max(worst[i], difference);
                        }
                    }

                    elements[i] += x.Length;
                }
            }
            finally
            {
                foreach (var value in values)
                {
                    value.Dispose();
                }
            }
        }

        return new UpgradeCheck(compared, [.. outputNames.Select((name, i) => new OutputDifference(name, elements[i], worst[i]))]);
    }

    private static List<(string Name, NpyArray Data)> MatchInputs(InferenceSession session, IReadOnlyDictionary<string, NpyArray> inputs)
    {
        var names = session.InputNames;
        if (inputs.Count == 1 && names.Count == 1 && !inputs.ContainsKey(names[0]))
        {
            inputs = new Dictionary<string, NpyArray> { [names[0]] = inputs.Values.Single() };
        }

        var feeds = new List<(string, NpyArray)>();
        foreach (string name in names)
        {
            if (!inputs.TryGetValue(name, out var data))
            {
                throw new ArgumentException($"no data for model input '{name}'; give one .npy per input as NAME=FILE.npy ({string.Join(", ", names)})");
            }

            if (data.Rank < 1 || data.Shape[0] == 0)
            {
                throw new ArgumentException($"the data for '{name}' has shape [{string.Join(",", data.Shape)}]: it needs samples along the first axis");
            }

            var expected = session.InputMetadata[name].ElementDataType;
            if (ToOrtType(data.ElementType) != expected)
            {
                throw new ArgumentException($"the data for '{name}' is {data.ElementType}, but the model takes {expected}");
            }

            feeds.Add((name, data));
        }

        foreach (string name in inputs.Keys.Where(name => !names.Contains(name)))
        {
            throw new ArgumentException($"data given for '{name}', which is not a model input ({string.Join(", ", names)})");
        }

        return feeds;
    }

    /// <summary>The model's batch size when its first input fixes it, else null.</summary>
    private static int? FixedBatch(InferenceSession session)
    {
        var dims = session.InputMetadata[session.InputNames[0]].Dimensions;
        return dims.Length > 0 && dims[0] > 0 ? dims[0] : null;
    }

    private static OrtValue Slice(NpyArray data, int start, int count)
    {
        long rowElements = data.ElementCount / data.Shape[0];
        long[] shape = [count, .. data.Shape[1..]];
        int from = checked((int)(start * rowElements));
        int length = checked((int)(count * rowElements));
        return data.ElementType switch
        {
            DataElementType.Float32 => OrtValue.CreateTensorValueFromMemory(data.AsSpan<float>().Slice(from, length).ToArray(), shape),
            DataElementType.Float64 => OrtValue.CreateTensorValueFromMemory(data.AsSpan<double>().Slice(from, length).ToArray(), shape),
            DataElementType.Int64 => OrtValue.CreateTensorValueFromMemory(data.AsSpan<long>().Slice(from, length).ToArray(), shape),
            DataElementType.Int32 => OrtValue.CreateTensorValueFromMemory(data.AsSpan<int>().Slice(from, length).ToArray(), shape),
            DataElementType.UInt8 => OrtValue.CreateTensorValueFromMemory(data.AsSpan<byte>().Slice(from, length).ToArray(), shape),
            DataElementType.Int8 => OrtValue.CreateTensorValueFromMemory(data.AsSpan<sbyte>().Slice(from, length).ToArray(), shape),
            DataElementType.Bool => OrtValue.CreateTensorValueFromMemory(data.AsSpan<bool>().Slice(from, length).ToArray(), shape),
            _ => throw new ArgumentException($"data of element type {data.ElementType} cannot be fed by the upgrade check"),
        };
    }

    private static TensorElementType ToOrtType(DataElementType type) => type switch
    {
        DataElementType.Float32 => TensorElementType.Float,
        DataElementType.Float64 => TensorElementType.Double,
        DataElementType.Int64 => TensorElementType.Int64,
        DataElementType.Int32 => TensorElementType.Int32,
        DataElementType.UInt8 => TensorElementType.UInt8,
        DataElementType.Int8 => TensorElementType.Int8,
        DataElementType.Bool => TensorElementType.Bool,
        _ => TensorElementType.DataTypeMax,
    };

    private static double[] AsDoubles(OrtValue value, string name)
    {
        var type = value.GetTensorTypeAndShape().ElementDataType;
        return type switch
        {
            TensorElementType.Float => value.GetTensorDataAsSpan<float>().ToArray().Select(v => (double)v).ToArray(),
            TensorElementType.Double => value.GetTensorDataAsSpan<double>().ToArray(),
            TensorElementType.Int64 => value.GetTensorDataAsSpan<long>().ToArray().Select(v => (double)v).ToArray(),
            TensorElementType.Int32 => value.GetTensorDataAsSpan<int>().ToArray().Select(v => (double)v).ToArray(),
            TensorElementType.UInt8 => value.GetTensorDataAsSpan<byte>().ToArray().Select(v => (double)v).ToArray(),
            TensorElementType.Int8 => value.GetTensorDataAsSpan<sbyte>().ToArray().Select(v => (double)v).ToArray(),
            TensorElementType.Bool => value.GetTensorDataAsSpan<bool>().ToArray().Select(v => v ? 1.0 : 0.0).ToArray(),
            _ => throw new NotSupportedException($"output '{name}' has element type {type}, which the upgrade check does not compare"),
        };
    }
}
