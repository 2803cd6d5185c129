namespace EdgeRuntime.Evaluation.Accuracy;

/// <summary>What one variant keeps of the task and of the reference variant's outputs.</summary>
/// <param name="Top1">Fraction of samples whose arg-max equals the label (labelled data, classifier outputs).</param>
/// <param name="Agreement">Fraction of samples whose arg-max equals the reference variant's.</param>
/// <param name="MeanCosine">Mean over samples of the cosine similarity between this variant's output and the reference's.</param>
public sealed record VariantEvaluation(
    string Variant,
    int Samples,
    double? Top1,
    double? Agreement,
    double? MeanCosine,
    double? MeanAbsError,
    double? MaxAbsError,
    double SamplesPerSecond,
    string? Error);

public sealed record EvalReport(
    string Model,
    string Dataset,
    int Samples,
    bool Labelled,
    int BatchSize,
    string ReferenceVariant,
    string OutputName,
    IReadOnlyList<VariantEvaluation> Variants);
