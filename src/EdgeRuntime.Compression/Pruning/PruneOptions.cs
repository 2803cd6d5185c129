using System.ComponentModel.DataAnnotations;

namespace EdgeRuntime.Compression.Pruning;

/// <summary>How weights or channels are ranked for removal.</summary>
public enum ImportanceCriterion
{
    /// <summary>Sum of absolute values (of a weight, or of a channel's filter).</summary>
    L1,
    /// <summary>Euclidean norm (of a weight, or of a channel's filter). For single weights it ranks like L1.</summary>
    L2,
    /// <summary>
    /// Second-order: the increase of the next layer's reconstruction error, from X^T X of calibration
    /// inputs (OBS saliency w^2/[H^-1]_jj for weights; sum of W[:,c]^2·H_cc over consumers for channels).
    /// </summary>
    SecondOrder,
}

/// <summary>Whether one sparsity threshold is shared by all layers or each layer gets the ratio.</summary>
public enum SparsityScope
{
    Global,
    PerLayer,
}

/// <summary>Options for unstructured (weight-level) pruning.</summary>
public sealed record UnstructuredPruneOptions
{
    /// <summary>Fraction of the weights of the pruned layers to set to zero.</summary>
    [Range(0.0, 0.99)]
    public double Ratio { get; init; } = 0.5;

    public ImportanceCriterion Criterion { get; init; } = ImportanceCriterion.L1;

    public SparsityScope Scope { get; init; } = SparsityScope.Global;

    /// <summary>
    /// Update the remaining weights to compensate each removal (Optimal Brain Surgeon, SparseGPT-style),
    /// layer after layer with the Hessian of the already-pruned model's inputs. Needs calibration data.
    /// </summary>
    public bool SecondOrderUpdate { get; init; }

    /// <summary>After pruning, refit each layer's remaining weights and bias by least squares to the teacher's outputs.</summary>
    public bool Reconstruct { get; init; }

    /// <summary>Relative damping added to X^T X (times its mean diagonal).</summary>
    [Range(1e-8, 1.0)]
    public double Damping { get; init; } = 0.01;

    [Range(1, 4096)]
    public int BlockSize { get; init; } = 128;

    /// <summary>Node names or op types left dense.</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];

    /// <summary>Where temporary model copies are written for ONNX Runtime (the system temp directory when null).</summary>
    public string? WorkDirectory { get; init; }

    public bool NeedsCalibration => SecondOrderUpdate || Reconstruct || Criterion == ImportanceCriterion.SecondOrder;

    public void Validate()
    {
        Validator.ValidateObject(this, new ValidationContext(this), validateAllProperties: true);
    }
}
