namespace EdgeRuntime.Cascade;

/// <summary>How sure a classifier's output row is.</summary>
public enum ConfidenceMeasure
{
    /// <summary>The largest class probability.</summary>
    TopProbability,
    /// <summary>The gap between the two largest probabilities.</summary>
    Margin,
    /// <summary>One minus the normalised entropy of the probabilities (1 = certain, 0 = uniform).</summary>
    Entropy,
}

public static class Confidence
{
    /// <summary>Confidence of one row of logits (or probabilities, which pass through softmax unchanged in order).</summary>
    public static double Of(ReadOnlySpan<float> row, ConfidenceMeasure measure)
    {
        if (row.Length == 0)
        {
            return 0;
        }
        if (row.Length == 1)
        {
            return 1;
        }
        Span<double> probabilities = row.Length <= 1024 ? stackalloc double[row.Length] : new double[row.Length];
        Softmax(row, probabilities);
        switch (measure)
        {
            case ConfidenceMeasure.TopProbability:
                {
                    double top = 0;
                    foreach (double p in probabilities)
                    {
                        top = Math.Max(top, p);
                    }
                    return top;
                }
            case ConfidenceMeasure.Margin:
                {
                    double first = 0, second = 0;
                    foreach (double p in probabilities)
                    {
                        if (p > first)
                        {
                            second = first;
                            first = p;
                        }
                        else if (p > second)
                        {
                            second = p;
                        }
                    }
                    return first - second;
                }
            default:
                {
                    double entropy = 0;
                    foreach (double p in probabilities)
                    {
                        if (p > 0)
                        {
                            entropy -= p * Math.Log(p);
                        }
                    }
                    return 1 - entropy / Math.Log(probabilities.Length);
                }
        }
    }

    private static void Softmax(ReadOnlySpan<float> logits, Span<double> probabilities)
    {
        double max = double.NegativeInfinity;
        foreach (float value in logits)
        {
            max = Math.Max(max, value);
        }
        double sum = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            probabilities[i] = Math.Exp(logits[i] - max);
            sum += probabilities[i];
        }
        for (int i = 0; i < logits.Length; i++)
        {
            probabilities[i] /= sum;
        }
    }
}
