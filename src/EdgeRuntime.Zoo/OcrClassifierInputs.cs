using EdgeRuntime.Data;

namespace EdgeRuntime.Zoo;

/// <summary>
/// Inputs for the PP-OCR direction classifier: rendered text lines, every second one the same
/// line turned by 180 degrees, preprocessed as PP-OCR does (the line scaled to height 48, values
/// (x/255 - 0.5)/0.5, zero padding on the right up to width 192): float32 [N, 3, 48, 192], with
/// labels 0 (upright) and 1 (turned), the classifier's two classes.
/// </summary>
public static class OcrClassifierInputs
{
    public const int DefaultCount = 500;
    public const ulong DefaultSeed = 48192;
    public const int Channels = 3;
    public const int Height = TextLineRenderer.Height;
    public const int Width = 192;

    /// <summary>The classifier's input name; the data file is named after it.</summary>
    public const string InputName = "x";

    /// <summary>Makes <paramref name="count"/> samples (an even number: lines and their turned copies).</summary>
    public static (float[] Pixels, long[] Labels) Generate(int count = DefaultCount, ulong seed = DefaultSeed)
    {
        if (count < 2 || count % 2 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "The count must be even and at least 2: each line comes with its turned copy.");
        }

        var random = new DeterministicRandom(seed);
        int sampleLength = Channels * Height * Width;
        var pixels = new float[count * sampleLength];
        var labels = new long[count];
        for (int i = 0; i < count; i += 2)
        {
            var line = TextLineRenderer.Render(random, Width);
            WriteSample(line, pixels.AsSpan(i * sampleLength, sampleLength));
            WriteSample(TextLineRenderer.Rotate180(line), pixels.AsSpan((i + 1) * sampleLength, sampleLength));
            labels[i] = 0;
            labels[i + 1] = 1;
        }

        return (pixels, labels);
    }

    /// <summary>Writes x.npy (float32 [N,3,48,192]) and labels.npy (int64 [N]) into <paramref name="directory"/>.</summary>
    /// <param name="seed">The default makes the held-out lines the figures are measured on; calibration sets take other seeds.</param>
    public static OcrInputFiles Write(string directory, int count = DefaultCount, ulong seed = DefaultSeed)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var (pixels, labels) = Generate(count, seed);
        Directory.CreateDirectory(directory);
        var files = new OcrInputFiles(Path.Combine(directory, $"{InputName}.npy"), Path.Combine(directory, "labels.npy"), count);
        NpyFile.Save(files.Inputs, NpyArray.FromValues<float>(pixels, count, Channels, Height, Width));
        NpyFile.Save(files.Labels, NpyArray.FromValues<long>(labels, count));
        return files;
    }

    private static void WriteSample(TextLineRenderer.LineImage line, Span<float> sample)
    {
        // Channel-major like the model's input; the padding right of the line stays 0 (mid-grey after normalisation).
        sample.Clear();
        for (int c = 0; c < Channels; c++)
        {
            for (int y = 0; y < Height; y++)
            {
                for (int x = 0; x < line.Width; x++)
                {
                    byte value = line.Pixels[((y * line.Width) + x) * Channels + c];
                    sample[(c * Height + y) * Width + x] = (value / 255f - 0.5f) / 0.5f;
                }
            }
        }
    }
}
