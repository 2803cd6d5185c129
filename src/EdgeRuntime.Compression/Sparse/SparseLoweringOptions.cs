using EdgeRuntime.Onnx;
using System.ComponentModel.DataAnnotations;

namespace EdgeRuntime.Compression.Sparse;

/// <summary>Options of <see cref="SparseLowering"/>.</summary>
public sealed record SparseLoweringOptions
{
    /// <summary>The built custom-op library (libedgert_sparse_ops.so) the sparse nodes are timed with and will run on.</summary>
    [Required]
    public required string LibraryPath { get; init; }

    /// <summary>Full shapes of inputs with symbolic dimensions besides the batch (their layers are timed at these sizes; without them such a model is refused).</summary>
    public IReadOnlyDictionary<string, long[]> InputShapes { get; init; } = new Dictionary<string, long[]>();

    /// <summary>The batch size the variant serves: the leading dimension of every graph input when it is not fixed.</summary>
    [Range(1, 4096)]
    public int Batch { get; init; } = 1;

    /// <summary>Layers with fewer zero weights than this stay dense without being timed.</summary>
    [Range(0.0, 1.0)]
    public double MinSparsity { get; init; } = 0.5;

    /// <summary>
    /// A layer is replaced only when dense time / sparse time reaches this (a margin over noise). Below 1 a slower
    /// sparse node is accepted too; 0 replaces every candidate layer (to inspect or test the sparse forms).
    /// </summary>
    [Range(0.0, 100.0)]
    public double MinSpeedup { get; init; } = 1.15;

    /// <summary>Interleaved rounds of dense and sparse runs per layer.</summary>
    [Range(1, 1000)]
    public int Rounds { get; init; } = 7;

    /// <summary>Timed runs of each candidate per round.</summary>
    [Range(1, 100000)]
    public int RunsPerRound { get; init; } = 20;

    /// <summary>Threads of the dense node (intra-op) and of the sparse node (its threads attribute), when timed and when deployed.</summary>
    [Range(1, 1024)]
    public int Threads { get; init; } = 1;

    /// <summary>The sparse forms to try (MatMul and Gemm can take either; 1x1 Conv only CSR).</summary>
    public IReadOnlyList<SparseFormat> Formats { get; init; } = [SparseFormat.Csr, SparseFormat.Blocks];

    /// <summary>Node names or op types left dense.</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];

    public void Validate()
    {
        Validator.ValidateObject(this, new ValidationContext(this), validateAllProperties: true);
        if (Formats.Count == 0 || Formats.Contains(SparseFormat.Dense))
        {
            throw new ValidationException("Formats must name one or more sparse forms (csr, blocks)");
        }
        if (!File.Exists(LibraryPath))
        {
            throw new FileNotFoundException($"the sparse custom-op library '{LibraryPath}' does not exist (build it with `make native`)", LibraryPath);
        }
    }
}

/// <summary>How a layer runs after lowering.</summary>
public enum SparseFormat
{
    /// <summary>Left as it was (ONNX Runtime's dense kernel).</summary>
    Dense,
    /// <summary>SparseMatMul or SparseConv1x1: compressed sparse rows.</summary>
    Csr,
    /// <summary>SparseBlockMatMul: 1 x 8 blocks along the outputs.</summary>
    Blocks,
}

/// <summary>What was measured for one layer and what was decided.</summary>
/// <param name="Shape">The input shape the layer was timed with.</param>
/// <param name="Sparsity">Fraction of zero weights.</param>
/// <param name="BlockSparsity">Fraction of 1 x 8 blocks with no weight (MatMul and Gemm).</param>
/// <param name="DenseMicroseconds">Median of the dense node, null when not timed.</param>
public sealed record LayerLowering(
    string Layer,
    string OpType,
    string Shape,
    double Sparsity,
    double? BlockSparsity,
    double? DenseMicroseconds,
    double? CsrMicroseconds,
    double? BlockMicroseconds,
    SparseFormat Format,
    string Reason)
{
    /// <summary>Dense time over the chosen format's time (over the best sparse time for a layer left dense), when timed.</summary>
    public double? Speedup
    {
        get
        {
            double? sparse = Format switch
            {
                SparseFormat.Csr => CsrMicroseconds,
                SparseFormat.Blocks => BlockMicroseconds,
                _ => CsrMicroseconds is double c && BlockMicroseconds is double b ? Math.Min(c, b) : CsrMicroseconds ?? BlockMicroseconds,
            };
            return DenseMicroseconds is double dense && sparse is double s && s > 0 ? dense / s : null;
        }
    }
}

/// <summary>The lowered model and the per-layer record.</summary>
public sealed record SparseLoweringResult(OnnxModel Model, IReadOnlyList<LayerLowering> Layers)
{
    public int Lowered => Layers.Count(l => l.Format != SparseFormat.Dense);

    /// <summary>True when the model needs the custom-op library to load.</summary>
    public bool NeedsLibrary => Lowered > 0;

    /// <summary>One line for the variant's manifest.</summary>
    public string Applied => $"sparse kernels (com.edgeruntime.sparse) for {Lowered} of {Layers.Count} layer(s), chosen by timing each against ONNX Runtime's dense node on this device";
}
