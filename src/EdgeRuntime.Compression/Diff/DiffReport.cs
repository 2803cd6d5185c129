namespace EdgeRuntime.Compression.Diff;

/// <summary>How far one output of the candidate lies from the reference's, over every compared sample.</summary>
/// <param name="Shape">The reference's output shape for one batch (symbolic batch shown as its run size).</param>
/// <param name="MeanAbsError">Mean over all elements of |candidate - reference|.</param>
/// <param name="StdAbsError">Standard deviation over all elements of |candidate - reference|.</param>
/// <param name="MaxAbsError">Largest |candidate - reference| of any element.</param>
/// <param name="MeanError">Mean signed error (candidate - reference): a shift the quantizer introduced.</param>
/// <param name="MeanCosine">Mean over samples of the cosine similarity of the sample's output vectors.</param>
/// <param name="MinCosine">The lowest per-sample cosine similarity.</param>
/// <param name="Top1Agreement">Fraction of samples whose arg-max over the class axis matches; only for [batch, classes] outputs.</param>
public sealed record OutputDiff(
    string Name,
    string ElementType,
    IReadOnlyList<long> Shape,
    int Samples,
    double MeanAbsError,
    double StdAbsError,
    double MaxAbsError,
    double MeanError,
    double MeanCosine,
    double MinCosine,
    double? Top1Agreement);

/// <summary>A candidate model's outputs against a reference model's on the same inputs (TFLite's inference_diff idea).</summary>
public sealed record DiffReport(
    string Reference,
    string Candidate,
    string Data,
    int Samples,
    int BatchSize,
    IReadOnlyList<OutputDiff> Outputs);
