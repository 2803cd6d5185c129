using EdgeRuntime.Evaluation.Benchmarking;

namespace EdgeRuntime.Evaluation.Tests;

public sealed class BenchTextTests
{
    [Fact]
    public void Shapes_are_parsed_per_input()
    {
        var shapes = BenchText.ParseShapes(["x=1x3x48x192", "mask=1,16"]);
        Assert.Equal([1, 3, 48, 192], shapes["x"]);
        Assert.Equal([1, 16], shapes["mask"]);
    }

    [Theory]
    [InlineData("1x3x48x192", "expected NAME=D0xD1x...")]
    [InlineData("x=1xAx3", "whole numbers")]
    public void A_bad_shape_is_named(string spec, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => BenchText.ParseShapes([spec]));
        Assert.Contains($"--shape '{spec}'", error.Message);
        Assert.Contains(expected, error.Message);
    }
}
