using EdgeRuntime.Zoo;
using EdgeRuntime.Data;

namespace EdgeRuntime.Compression.Tests;

/// <summary>The generated inputs: rendered text lines for the OCR classifier, encoded sentences for MiniLM.</summary>
public sealed class ModelZooInputsTests
{
    private const int Sample = OcrClassifierInputs.Channels * OcrClassifierInputs.Height * OcrClassifierInputs.Width;

    [Fact]
    public void Text_lines_come_in_pairs_with_their_180_degree_turn()
    {
        var (pixels, labels) = OcrClassifierInputs.Generate(10);

        Assert.Equal(10 * Sample, pixels.Length);
        Assert.Equal([0L, 1, 0, 1, 0, 1, 0, 1, 0, 1], labels);
        Assert.All(pixels, value => Assert.InRange(value, -1f, 1f));
        for (int pair = 0; pair < 10; pair += 2)
        {
            var upright = pixels.AsSpan(pair * Sample, Sample);
            var turned = pixels.AsSpan((pair + 1) * Sample, Sample);
            int width = LineWidth(upright);
            Assert.Equal(width, LineWidth(turned));
            Assert.InRange(width, 16, OcrClassifierInputs.Width);
            for (int c = 0; c < 3; c++)
            {
                for (int y = 0; y < 48; y++)
                {
                    for (int x = 0; x < width; x++)
                    {
                        Assert.Equal(upright[(c * 48 + y) * 192 + x], turned[(c * 48 + (47 - y)) * 192 + (width - 1 - x)]);
                    }
                }
            }
        }
    }

    [Fact]
    public void Lines_hold_dark_strokes_on_light_paper_and_differ_from_each_other()
    {
        var (pixels, _) = OcrClassifierInputs.Generate(6);

        for (int n = 0; n < 6; n += 2)
        {
            float[] line = pixels.AsSpan(n * Sample, 48 * 192).ToArray();
            int width = LineWidth(pixels.AsSpan(n * Sample, Sample));
            var values = Enumerable.Range(0, 48).SelectMany(y => Enumerable.Range(0, width).Select(x => line[y * 192 + x])).Order().ToArray();
            float paper = values[values.Length / 2];
            float ink = values[values.Length / 100];
            Assert.True(paper - ink > 0.5f, $"line {n}: paper {paper}, darkest percentile {ink}");
        }

        Assert.NotEqual(pixels.AsSpan(0, Sample).ToArray(), pixels.AsSpan(2 * Sample, Sample).ToArray());
        Assert.Equal(pixels, OcrClassifierInputs.Generate(6).Pixels);
    }

    [Fact]
    public void An_odd_count_cannot_pair_lines_with_their_turns()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => OcrClassifierInputs.Generate(5));
    }

    [Fact]
    public void Ocr_inputs_are_written_once_as_npy_named_after_the_model_input()
    {
        using var temp = new TempDirectory();
        var zoo = new ModelZoo(new ModelZooOptions { CacheDirectory = temp.Path });

        var files = zoo.EnsureOcrInputs(count: 8);
        var written = File.GetLastWriteTimeUtc(files.Inputs);
        var again = zoo.EnsureOcrInputs(count: 8);

        Assert.Equal(Path.Combine(temp.Path, "ppocr-cls", "data", "x.npy"), files.Inputs);
        var inputs = NpyFile.Load(files.Inputs);
        Assert.Equal([8L, 3, 48, 192], inputs.Shape);
        Assert.Equal(DataElementType.Float32, inputs.ElementType);
        Assert.Equal([0L, 1, 0, 1, 0, 1, 0, 1], NpyFile.Load(files.Labels).ToInt64());
        Assert.Equal(written, File.GetLastWriteTimeUtc(again.Inputs));
        Assert.Equal(16, NpyFile.Load(zoo.EnsureOcrInputs(count: 16).Inputs).Shape[0]);
    }

    [Fact]
    public void MiniLm_inputs_are_three_int64_arrays_named_after_the_model_inputs()
    {
        using var temp = new TempDirectory();
        var tokenizer = new WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", "."]);

        var files = MiniLmInputs.Write(temp.Path, tokenizer, ["Hello world.", "Hello there"], sequenceLength: 8);

        Assert.Equal(["input_ids", "attention_mask", "token_type_ids"], files.ByInputName.Keys);
        Assert.Equal([2L, 4, 5, 6, 3, 0, 0, 0, 2, 4, 1, 3, 0, 0, 0, 0], NpyFile.Load(files.InputIds).ToInt64());
        Assert.Equal([1L, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0], NpyFile.Load(files.AttentionMask).ToInt64());
        Assert.Equal(new long[16], NpyFile.Load(files.TokenTypeIds).ToInt64());
        Assert.Equal([2L, 8], NpyFile.Load(files.TokenTypeIds).Shape);
        Assert.Equal(["Hello world.", "Hello there"], File.ReadAllLines(files.Sentences));
    }

    [Fact]
    public void MiniLm_inputs_need_the_fetched_vocabulary()
    {
        using var temp = new TempDirectory();
        var zoo = new ModelZoo(new ModelZooOptions { CacheDirectory = temp.Path });

        var error = Assert.Throws<ModelFetchException>(() => zoo.EnsureMiniLmInputs());

        Assert.Contains("fetch the model first", error.Message);
    }

    [Fact]
    public void Mean_pooling_averages_real_tokens_and_normalises()
    {
        float[] hidden = [3, 0, 3, 8, 100, 100, /* second sample */ 0, 2, 0, 2, 0, 2];
        long[] mask = [1, 1, 0, 1, 1, 1];

        var embeddings = MiniLmInputs.MeanPool(hidden, mask, count: 2, sequenceLength: 3, width: 2);

        Assert.Equal(0.6, embeddings[0][0], 5);
        Assert.Equal(0.8, embeddings[0][1], 5);
        Assert.Equal([0f, 1f], embeddings[1]);
    }

    private static int LineWidth(ReadOnlySpan<float> sample)
    {
        // The padding right of the line is exactly 0 in every channel and row.
        for (int x = OcrClassifierInputs.Width - 1; x >= 0; x--)
        {
            for (int c = 0; c < 3; c++)
            {
                for (int y = 0; y < 48; y++)
                {
                    if (sample[(c * 48 + y) * 192 + x] != 0f)
                    {
                        return x + 1;
                    }
                }
            }
        }

        return 0;
    }
}
