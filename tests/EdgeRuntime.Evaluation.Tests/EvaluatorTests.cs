using EdgeRuntime.Compression.Packing;
using EdgeRuntime.Data;
using EdgeRuntime.Evaluation.Accuracy;
using EdgeRuntime.Inference;

namespace EdgeRuntime.Evaluation.Tests;

public sealed class EvaluatorTests
{
    // Four samples of three values; labels pick the largest value for three of them.
    private static readonly float[] Samples = [3, 1, 2, /**/ 0, 5, 1, /**/ 1, 1, 9, /**/ 4, 2, 8];
    private static readonly long[] Labels = [0, 1, 2, 0];

    private static LabelledDataset Data() => new(Samples, [3], Labels, "toy");

    [Fact]
    public void Measures_top1_and_fidelity_to_the_reference()
    {
        using var temp = new TempDirectory();
        var bundle = temp.File("bundle");
        BundleBuilder.Create(bundle, "toy",
        [
            new VariantSource("ref", Models.Scale(temp.File("ref.onnx"), 2f)),
            new VariantSource("triple", Models.Scale(temp.File("triple.onnx"), 3f)),
            new VariantSource("negated", Models.Scale(temp.File("negated.onnx"), -2f)),
        ]);
        using var runtime = ModelRuntime.Open(bundle);

        var report = Evaluator.Evaluate(runtime, Data(), labelled: true, new EvalOptions { BatchSize = 3 });

        Assert.Equal(4, report.Samples);
        var byId = report.Variants.ToDictionary(v => v.Variant);
        Assert.Equal(0.75, byId["ref"].Top1);
        Assert.Equal(1.0, byId["ref"].Agreement);
        // A positive rescale keeps every arg-max and the direction of every output.
        Assert.Equal(0.75, byId["triple"].Top1);
        Assert.Equal(1.0, byId["triple"].Agreement);
        Assert.Equal(1.0, byId["triple"].MeanCosine!.Value, 6);
        Assert.Equal(Samples.Average(Math.Abs), byId["triple"].MeanAbsError!.Value, 5); // |3x - 2x| = |x|
        Assert.Equal(9, byId["triple"].MaxAbsError!.Value, 5);
        // Negation flips it: the smallest value wins and cosine is -1.
        Assert.Equal(0.0, byId["negated"].Agreement);
        Assert.Equal(-1.0, byId["negated"].MeanCosine!.Value, 6);
    }

    [Fact]
    public void Unlabelled_data_gives_no_top1_and_a_limit_cuts_the_samples()
    {
        using var temp = new TempDirectory();
        using var runtime = ModelRuntime.Open(Models.Scale(temp.File("m.onnx"), 1f));
        var report = Evaluator.Evaluate(runtime, Data(), labelled: false, new EvalOptions { Limit = 2 });
        Assert.Equal(2, report.Samples);
        Assert.Null(report.Variants[0].Top1);
    }

    [Fact]
    public void A_model_with_a_fixed_batch_gets_padded_batches_and_the_same_answers()
    {
        using var temp = new TempDirectory();
        using var open = ModelRuntime.Open(Models.Scale(temp.File("open.onnx"), 2f));
        using var fixedBatch = ModelRuntime.Open(Models.Scale(temp.File("fixed.onnx"), 2f, fixedBatch: 3));

        var a = Evaluator.Evaluate(open, Data(), true);
        var b = Evaluator.Evaluate(fixedBatch, Data(), true);

        Assert.Equal(3, b.BatchSize);
        Assert.Equal(a.Variants[0].Top1, b.Variants[0].Top1);
        Assert.Equal(4, b.Variants[0].Samples);
    }

    [Fact]
    public void Unavailable_variants_are_reported_not_thrown()
    {
        using var temp = new TempDirectory();
        var bundle = temp.File("bundle");
        BundleBuilder.Create(bundle, "toy",
        [
            new VariantSource("ref", Models.Scale(temp.File("ref.onnx"), 2f)),
            new VariantSource("gone", Models.Scale(temp.File("gone.onnx"), 3f)),
        ]);
        File.Delete(Path.Combine(bundle, "gone.onnx"));
        using var runtime = ModelRuntime.Open(bundle);

        var report = Evaluator.Evaluate(runtime, Data(), true);

        var gone = report.Variants.Single(v => v.Variant == "gone");
        Assert.Contains("is missing", gone.Error);
        Assert.Equal(0.75, report.Variants.Single(v => v.Variant == "ref").Top1);
    }
}
