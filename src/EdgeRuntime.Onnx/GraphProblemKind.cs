namespace EdgeRuntime.Onnx;

/// <summary>What kind of mistake <see cref="OnnxGraph.Validate"/> found.</summary>
public enum GraphProblemKind
{
    /// <summary>A node (or a subgraph) reads a tensor nothing defines.</summary>
    UndefinedInput,

    /// <summary>Two nodes produce the same tensor, or a node output reuses an input or initializer name.</summary>
    DuplicateDefinition,

    /// <summary>A graph output names a tensor nothing defines.</summary>
    UndefinedGraphOutput,

    /// <summary>A node has no op_type.</summary>
    EmptyOpType,

    /// <summary>An initializer's type, dims and stored data do not agree.</summary>
    InvalidInitializer,

    /// <summary>Nodes depend on each other in a loop.</summary>
    Cycle,
}
