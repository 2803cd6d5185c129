using System.Numerics.Tensors;

namespace EdgeRuntime.Compression.Distillation;

/// <summary>
/// Streams X^T X (the Hessian of a linear layer's squared reconstruction error, up to a factor of 2)
/// and optionally X^T Y over batches of rows, without keeping the rows. An optional constant-one
/// column makes the bias part of the fit. Each batch is summed in float, then added in double.
/// </summary>
public sealed class GramAccumulator
{
    private readonly float[] _batchGram;
    private readonly float[]? _batchCross;

    public GramAccumulator(int columns, int targets = 0, bool withBias = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(targets);
        Columns = columns;
        Targets = targets;
        WithBias = withBias;
        Dimension = columns + (withBias ? 1 : 0);
        Gram = new double[Dimension * Dimension];
        _batchGram = new float[Dimension * Dimension];
        if (targets > 0)
        {
            Cross = new double[Dimension * targets];
            _batchCross = new float[Dimension * targets];
        }
    }

    public int Columns { get; }
    public int Targets { get; }
    public bool WithBias { get; }
    /// <summary>Columns plus the bias column.</summary>
    public int Dimension { get; }
    public long Rows { get; private set; }
    /// <summary>X^T X, [Dimension, Dimension], full (both triangles).</summary>
    public double[] Gram { get; }
    /// <summary>X^T Y, [Dimension, Targets]; null without targets.</summary>
    public double[]? Cross { get; }

    /// <summary>Adds <paramref name="count"/> rows of <see cref="Columns"/> values, and their targets when accumulating X^T Y.</summary>
    public void Add(float[] rows, int count, float[]? targets = null)
    {
        if (count == 0)
        {
            return;
        }
        if (Targets > 0 && (targets is null || targets.Length < count * Targets))
        {
            throw new ArgumentException($"expected {count} target rows of {Targets} values");
        }
        int d = Dimension, n = Columns, m = Targets;
        Array.Clear(_batchGram);
        if (_batchCross is not null)
        {
            Array.Clear(_batchCross);
        }
        Parallel.For(0, n, i =>
        {
            var gramRow = _batchGram.AsSpan(i * d + i, n - i);
            var crossRow = _batchCross is null ? default : _batchCross.AsSpan(i * m, m);
            float sum = 0;
            for (int r = 0; r < count; r++)
            {
                var row = rows.AsSpan(r * n, n);
                float xi = row[i];
                if (xi == 0f)
                {
                    continue;
                }
                sum += xi;
                TensorPrimitives.MultiplyAdd(row[i..], xi, gramRow, gramRow);
                if (_batchCross is not null)
                {
                    TensorPrimitives.MultiplyAdd(targets.AsSpan(r * m, m), xi, crossRow, crossRow);
                }
            }
            if (WithBias)
            {
                _batchGram[i * d + n] = sum;
            }
        });
        if (WithBias)
        {
            _batchGram[n * d + n] = count;
            if (_batchCross is not null)
            {
                var crossRow = _batchCross.AsSpan(n * m, m);
                for (int r = 0; r < count; r++)
                {
                    TensorPrimitives.Add(crossRow, targets.AsSpan(r * m, m), crossRow);
                }
            }
        }
        for (int i = 0; i < d; i++)
        {
            for (int j = i; j < d; j++)
            {
                double value = _batchGram[i * d + j];
                Gram[i * d + j] += value;
                if (j != i)
                {
                    Gram[j * d + i] += value;
                }
            }
        }
        if (Cross is not null)
        {
            for (int i = 0; i < _batchCross!.Length; i++)
            {
                Cross[i] += _batchCross[i];
            }
        }
        Rows += count;
    }
}
