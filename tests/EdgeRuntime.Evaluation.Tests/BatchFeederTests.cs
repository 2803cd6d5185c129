using EdgeRuntime.Bundles;
using EdgeRuntime.Evaluation.Feeding;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Evaluation.Tests;

public sealed class BatchFeederTests
{
    private static TensorSignature Input(ElementType type, params object[] dims) =>
        new("x", type, [.. dims.Select(d => d is string s ? TensorDimension.Symbolic(s) : TensorDimension.Fixed(Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture)))]);

    [Fact]
    public void Open_batch_uses_the_preferred_size_and_a_short_last_batch()
    {
        var feeder = BatchFeeder.Create([Input(ElementType.Float32, "n", 3)], [3], preferredBatch: 8);
        Assert.Equal(8, feeder.BatchSize);
        Assert.False(feeder.PadsLastBatch);
        var tensor = feeder.MakeBatch([1, 2, 3, 4, 5, 6], 2);
        Assert.Equal([2L, 3], tensor.Shape);
        Assert.Equal([1f, 2, 3, 4, 5, 6], tensor.AsSpan<float>().ToArray());
    }

    [Fact]
    public void Fixed_batch_is_kept_and_the_last_batch_padded_with_zeros()
    {
        var feeder = BatchFeeder.Create([Input(ElementType.Float32, 4, 2)], [2], preferredBatch: 64);
        Assert.Equal(4, feeder.BatchSize);
        Assert.True(feeder.PadsLastBatch);
        var tensor = feeder.MakeBatch([1, 2, 3, 4, 5, 6], 3);
        Assert.Equal([4L, 2], tensor.Shape);
        Assert.Equal([1f, 2, 3, 4, 5, 6, 0, 0], tensor.AsSpan<float>().ToArray());
    }

    [Fact]
    public void Fixed_batch_of_one_feeds_one_sample_at_a_time()
    {
        var feeder = BatchFeeder.Create([Input(ElementType.Float32, 1, 1, 28, 28)], [1, 28, 28], preferredBatch: 64);
        Assert.Equal(1, feeder.BatchSize);
        Assert.False(feeder.PadsLastBatch);
    }

    [Fact]
    public void Flat_data_is_reshaped_to_the_model_layout()
    {
        var feeder = BatchFeeder.Create([Input(ElementType.Float32, "batch", 1, 28, 28)], [784], preferredBatch: 2);
        var tensor = feeder.MakeBatch(new float[784 * 2], 2);
        Assert.Equal([2L, 1, 28, 28], tensor.Shape);
    }

    [Fact]
    public void Integer_inputs_take_whole_numbers_and_refuse_fractions()
    {
        var feeder = BatchFeeder.Create([Input(ElementType.Int64, "batch", 2)], [2], preferredBatch: 1);
        Assert.Equal([7L, -3], feeder.MakeBatch([7, -3], 1).AsSpan<long>().ToArray());
        var error = Assert.Throws<InvalidDataException>(() => feeder.MakeBatch([0.5f, 1], 1));
        Assert.Contains("0.5", error.Message);
    }

    [Fact]
    public void Data_that_does_not_fit_and_several_inputs_are_refused()
    {
        Assert.Contains("do not fit input", Assert.Throws<InvalidDataException>(
            () => BatchFeeder.Create([Input(ElementType.Float32, "n", 3)], [4], 1)).Message);
        var second = new TensorSignature("mask", ElementType.Float32, [TensorDimension.Symbolic("n")]);
        Assert.Contains("takes 2 inputs", Assert.Throws<NotSupportedException>(
            () => BatchFeeder.Create([Input(ElementType.Float32, "n", 3), second], [3], 1)).Message);
    }
}
