namespace EdgeRuntime.Compression.Calibration;

/// <summary>
/// Running statistics of one activation tensor: min/max (first pass), then a histogram over the
/// range the first pass found (second pass), and optionally per-channel means for bias correction.
/// Memory is fixed by the bin and channel count, not by how many samples stream through.
/// </summary>
internal sealed class TensorStatistics(string name)
{
    private long[]? _histogram;
    private long _zeros;
    private float _histogramLimit;
    private bool _signed;
    private double[]? _channelSums;
    private long _channelCount;

    public string Name { get; } = name;
    public float Min { get; private set; } = float.PositiveInfinity;
    public float Max { get; private set; } = float.NegativeInfinity;
    public long Count { get; private set; }
    public bool Seen => Count > 0;

    public void AddMinMax(ReadOnlySpan<float> values, ReadOnlySpan<long> shape, bool collectChannelMeans)
    {
        if (values.Length > 0)
        {
            Min = Math.Min(Min, System.Numerics.Tensors.TensorPrimitives.Min(values));
            Max = Math.Max(Max, System.Numerics.Tensors.TensorPrimitives.Max(values));
        }
        Count += values.Length;
        if (collectChannelMeans && shape.Length >= 2)
        {
            AddChannelSums(values, shape);
        }
    }

    public void StartHistogram(int bins)
    {
        _signed = Min < 0;
        _histogramLimit = Math.Max(Math.Abs(Min), Math.Abs(Max));
        _histogram = new long[bins];
    }

    public void AddHistogram(ReadOnlySpan<float> values)
    {
        var histogram = _histogram!;
        if (_histogramLimit <= 0)
        {
            histogram[0] += values.Length;
            return;
        }
        float toBin = histogram.Length / _histogramLimit;
        int last = histogram.Length - 1;
        foreach (float value in values)
        {
            // Exact zeros (most of a ReLU's output) are exact in any quantization: counting them in
            // the first bin would bias the entropy search towards thresholds that squeeze that bin.
            if (value == 0f)
            {
                _zeros++;
                continue;
            }
            int bin = (int)(Math.Abs(value) * toBin);
            histogram[bin > last ? last : bin]++;
        }
    }

    /// <summary>Mean of each channel (axis 1) over every other axis, or null when not collected.</summary>
    public double[]? ChannelMeans => _channelSums is null || _channelCount == 0 ? null : [.. _channelSums.Select(s => s / _channelCount)];

    public TensorRange Range(CalibrationOptions options)
    {
        if (!Seen)
        {
            return new TensorRange(0, 0);
        }
        if (options.Method == CalibrationMethod.MinMax || _histogram is null)
        {
            return new TensorRange(Min, Max);
        }
        int thresholdBin = options.Method == CalibrationMethod.Percentile
            ? PercentileBin(_histogram, _zeros, options.Percentile)
            : EntropyBin(_histogram, _signed ? options.QuantizedBins : Math.Min(2 * options.QuantizedBins, _histogram.Length - 1));
        float threshold = _histogramLimit * (thresholdBin + 1) / _histogram.Length;
        return _signed
            ? new TensorRange(Math.Max(Min, -threshold), Math.Min(Max, threshold))
            : new TensorRange(Math.Max(0, Min), Math.Min(Max, threshold));
    }

    private void AddChannelSums(ReadOnlySpan<float> values, ReadOnlySpan<long> shape)
    {
        int channels = (int)shape[1];
        long inner = 1;
        for (int i = 2; i < shape.Length; i++)
        {
            inner *= shape[i];
        }
        _channelSums ??= new double[channels];
        if (_channelSums.Length != channels)
        {
            return; // shape changed between batches: means would mix different layouts
        }
        long outer = shape[0];
        for (long n = 0; n < outer; n++)
        {
            for (int c = 0; c < channels; c++)
            {
                var slice = values.Slice((int)((n * channels + c) * inner), (int)inner);
                _channelSums[c] += System.Numerics.Tensors.TensorPrimitives.Sum(slice);
            }
        }
        _channelCount += outer * inner;
    }

    private static int PercentileBin(long[] histogram, long zeros, double percentile)
    {
        long total = histogram.Sum() + zeros;
        double wanted = total * percentile / 100.0;
        long running = zeros;
        for (int i = 0; i < histogram.Length; i++)
        {
            running += histogram[i];
            if (running >= wanted)
            {
                return i;
            }
        }
        return histogram.Length - 1;
    }

    /// <summary>
    /// TensorRT's entropy calibration: for each candidate threshold, fold the clipped tail into the last
    /// bin (P), quantize to <paramref name="levels"/> bins and expand back (Q), keep the threshold with the
    /// smallest KL(P || Q).
    /// </summary>
    private static int EntropyBin(long[] histogram, int levels)
    {
        int bins = histogram.Length;
        double bestDivergence = double.PositiveInfinity;
        int best = bins - 1;
        var p = new double[bins];
        var q = new double[bins];
        long tail = histogram.Sum();
        for (int i = 0; i < levels; i++)
        {
            tail -= histogram[i];
        }
        for (int threshold = levels; threshold <= bins; threshold++)
        {
            for (int j = 0; j < threshold; j++)
            {
                p[j] = histogram[j];
            }
            p[threshold - 1] += tail;
            if (threshold < bins)
            {
                tail -= histogram[threshold];
            }
            // Quantize the first `threshold` bins into `levels` groups, then spread each group's
            // mass evenly over the bins of the group that were non-zero.
            Array.Clear(q, 0, threshold);
            double width = (double)threshold / levels;
            for (int level = 0; level < levels; level++)
            {
                int start = (int)Math.Floor(level * width);
                int end = level == levels - 1 ? threshold : (int)Math.Floor((level + 1) * width);
                double mass = 0;
                int nonZero = 0;
                for (int j = start; j < end; j++)
                {
                    mass += histogram[j];
                    if (histogram[j] != 0)
                    {
                        nonZero++;
                    }
                }
                if (nonZero == 0)
                {
                    continue;
                }
                double share = mass / nonZero;
                for (int j = start; j < end; j++)
                {
                    if (histogram[j] != 0)
                    {
                        q[j] = share;
                    }
                }
            }
            double divergence = KullbackLeibler(p.AsSpan(0, threshold), q.AsSpan(0, threshold));
            if (divergence < bestDivergence)
            {
                bestDivergence = divergence;
                best = threshold - 1;
            }
        }
        return best;
    }

    private static double KullbackLeibler(ReadOnlySpan<double> p, ReadOnlySpan<double> q)
    {
        double sumP = 0, sumQ = 0;
        for (int i = 0; i < p.Length; i++)
        {
            sumP += p[i];
            sumQ += q[i];
        }
        if (sumP == 0 || sumQ == 0)
        {
            return double.PositiveInfinity;
        }
        double divergence = 0;
        for (int i = 0; i < p.Length; i++)
        {
            if (p[i] == 0)
            {
                continue;
            }
            double pi = p[i] / sumP;
            // A bin P has and Q lost costs a large but finite penalty, as a smoothed Q would.
            double qi = q[i] == 0 ? 1e-10 : q[i] / sumQ;
            divergence += pi * Math.Log(pi / qi);
        }
        return divergence;
    }
}
