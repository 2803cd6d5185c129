using EdgeRuntime.Data;

namespace EdgeRuntime.Zoo;

/// <summary>
/// Inputs for all-MiniLM-L6-v2: generated sentences encoded with the package's vocabulary and
/// written as one int64 .npy per model input, [N, sequence length], named after the input
/// (input_ids.npy, attention_mask.npy, token_type_ids.npy), plus sentences.txt.
/// </summary>
public static class MiniLmInputs
{
    public const int DefaultCount = 256;
    public const int DefaultSequenceLength = 128;

    public static readonly IReadOnlyList<string> InputNames = ["input_ids", "attention_mask", "token_type_ids"];

    /// <summary>Encodes the sentences and writes the three arrays and the sentences into <paramref name="directory"/>.</summary>
    public static MiniLmInputFiles Write(string directory, WordPieceTokenizer tokenizer, IReadOnlyList<string> sentences, int sequenceLength = DefaultSequenceLength)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(sentences);
        if (sentences.Count == 0)
        {
            throw new ArgumentException("There are no sentences to encode.", nameof(sentences));
        }

        int n = sentences.Count;
        var ids = new long[n * sequenceLength];
        var mask = new long[n * sequenceLength];
        var types = new long[n * sequenceLength];
        for (int i = 0; i < n; i++)
        {
            var encoding = tokenizer.Encode(sentences[i], sequenceLength);
            encoding.InputIds.CopyTo(ids, i * sequenceLength);
            encoding.AttentionMask.CopyTo(mask, i * sequenceLength);
            encoding.TokenTypeIds.CopyTo(types, i * sequenceLength);
        }

        Directory.CreateDirectory(directory);
        var files = new MiniLmInputFiles(
            Path.Combine(directory, "input_ids.npy"),
            Path.Combine(directory, "attention_mask.npy"),
            Path.Combine(directory, "token_type_ids.npy"),
            Path.Combine(directory, "sentences.txt"),
            n);
        NpyFile.Save(files.InputIds, NpyArray.FromValues<long>(ids, n, sequenceLength));
        NpyFile.Save(files.AttentionMask, NpyArray.FromValues<long>(mask, n, sequenceLength));
        NpyFile.Save(files.TokenTypeIds, NpyArray.FromValues<long>(types, n, sequenceLength));
        File.WriteAllLines(files.Sentences, sentences);
        return files;
    }

    /// <summary>
    /// Sentence embeddings as sentence-transformers makes them from the model's last_hidden_state:
    /// the mean over real tokens (attention mask 1), then L2-normalised. Shapes: hidden [N, T, D], mask [N, T].
    /// </summary>
    public static float[][] MeanPool(ReadOnlySpan<float> hidden, ReadOnlySpan<long> attentionMask, int count, int sequenceLength, int width)
    {
        if (hidden.Length != count * sequenceLength * width || attentionMask.Length != count * sequenceLength)
        {
            throw new ArgumentException($"hidden states must be [{count},{sequenceLength},{width}] and the mask [{count},{sequenceLength}].");
        }

        var embeddings = new float[count][];
        for (int n = 0; n < count; n++)
        {
            var sum = new double[width];
            int tokens = 0;
            for (int t = 0; t < sequenceLength; t++)
            {
                if (attentionMask[n * sequenceLength + t] == 0)
                {
                    continue;
                }

                tokens++;
                var row = hidden.Slice((n * sequenceLength + t) * width, width);
                for (int d = 0; d < width; d++)
                {
                    sum[d] += row[d];
                }
            }

            double norm = 0;
            for (int d = 0; d < width; d++)
            {
                sum[d] /= Math.Max(tokens, 1);
                norm += sum[d] * sum[d];
            }

            norm = Math.Max(Math.Sqrt(norm), 1e-12);
            embeddings[n] = sum.Select(value => (float)(value / norm)).ToArray();
        }

        return embeddings;
    }
}
