using System.Globalization;
using EdgeRuntime.Compression.Diff;
using EdgeRuntime.Onnx;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace EdgeRuntime.Compression.Specialization;

/// <summary>What <see cref="ModelSpecializer"/> did.</summary>
/// <param name="InlinedIfs">"If 'x' → then_branch" per If node replaced by the branch its constant condition takes.</param>
public sealed record SpecializationResult(OnnxModel Model, IReadOnlyList<string> InlinedIfs, int FoldedNodes, int RemovedNodes, IReadOnlyList<string> RemovedInputs);

/// <summary>
/// Specialises a model for inputs a deployment fixes (a sample rate, a mode flag): the inputs become constants,
/// nodes computed from constants only are folded (evaluated by ONNX Runtime, so any op folds the same way it runs),
/// If nodes whose condition became constant are replaced by the nodes of the branch taken, with the branch's names
/// renamed so they stay unique, and dead nodes, dead branches and unused weights go. The result has the same outputs
/// as the original run with those input values.
/// </summary>
/// <remarks>
/// Folding is limited to outputs of at most <see cref="MaxFoldedElements"/> elements: it is for conditions, shapes and
/// small parameters; folding weight transforms would only grow the file. If nodes inside Loop/Scan bodies are left
/// as they are (their condition may change per iteration).
/// </remarks>
public static class ModelSpecializer
{
    public const int MaxFoldedElements = 4096;

    private static readonly HashSet<string> NeverFolded = ["RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"];

    /// <param name="values">Input name → the value it is fixed to, as written on a command line: "16000", "1,2,3", "true".</param>
    public static SpecializationResult Specialize(OnnxModel model, IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            throw new ArgumentException("specialize: give at least one input to fix, as NAME=VALUE");
        }
        var specialized = model.Clone();
        if (specialized.HasExternalData)
        {
            specialized.InternalizeExternalData();
        }
        var graph = specialized.Graph;
        var removedInputs = new List<string>();
        foreach (var (name, text) in values)
        {
            var input = graph.RuntimeInputs.FirstOrDefault(i => i.Name == name)
                ?? throw new ArgumentException($"specialize: '{name}' is not an input of the model (inputs: {string.Join(", ", graph.RuntimeInputs.Select(i => i.Name))})");
            var tensor = ParseValue(input, text);
            graph.Inputs.Remove(input);
            graph.AddInitializer(tensor.ToProto(name));
            removedInputs.Add(name);
        }

        var inlined = new List<string>();
        int folded = 0;
        int before = CountNodes(graph);
        for (bool changed = true; changed;)
        {
            changed = false;
            int foldedNow = FoldConstants(graph, specialized);
            folded += foldedNow;
            changed |= foldedNow > 0;
            foreach (var node in graph.Nodes.Where(n => n.OpType == "If" && n.Domain is "" or "ai.onnx").ToList())
            {
                if (graph.IsInitializer(node.Input[0]))
                {
                    inlined.Add(InlineIf(graph, node));
                    changed = true;
                }
            }
        }
        graph.RemoveDeadNodes();
        graph.RemoveUnusedInitializers();
        graph.SortTopologically();
        int removed = before - CountNodes(graph);
        specialized.SetMetadata("edgeruntime.specialized", string.Join(", ", values.Select(p => $"{p.Key}={p.Value}")));
        Quantization.QuantizedModelCheck.Verify(specialized, "specialize", "specialised", "report the model: folding should never break it");
        return new SpecializationResult(specialized, inlined, folded, removed, removedInputs);
    }

    private static int CountNodes(OnnxGraph graph) => ScopedGraph.All(graph).Sum(scope => scope.Graph.Nodes.Count);

    /// <summary>The value of a fixed input in the input's element type and declared shape (scalar, or as many values as given).</summary>
    public static TensorData ParseValue(ValueInfoProto input, string text)
    {
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            throw new ArgumentException($"specialize: no value given for input '{input.Name}'");
        }
        var declared = input.GetShape();
        long[] dims;
        if (declared is { Count: 0 } && parts.Length == 1)
        {
            dims = [];
        }
        else if (declared is not null && declared.All(d => d.Value is not null))
        {
            dims = [.. declared.Select(d => d.Value!.Value)];
            if (dims.Aggregate(1L, (a, b) => a * b) != parts.Length)
            {
                throw new ArgumentException($"specialize: input '{input.Name}' has shape [{string.Join(",", dims)}], so it needs {dims.Aggregate(1L, (a, b) => a * b)} value(s); got {parts.Length} ('{text}')");
            }
        }
        else
        {
            dims = [parts.Length];
        }
        var type = input.GetElementType();
        T[] Parse<T>(Func<string, T> parse)
        {
            try
            {
                return [.. parts.Select(parse)];
            }
            catch (FormatException)
            {
                throw new ArgumentException($"specialize: '{text}' is not a valid {type} value for input '{input.Name}'");
            }
            catch (OverflowException)
            {
                throw new ArgumentException($"specialize: '{text}' is out of range for input '{input.Name}' ({type})");
            }
        }
        var inv = CultureInfo.InvariantCulture;
        return type switch
        {
            OnnxDataType.Int64 => TensorData.Create(Parse(p => long.Parse(p, inv)), dims),
            OnnxDataType.Int32 => TensorData.Create(Parse(p => int.Parse(p, inv)), dims),
            OnnxDataType.Float => TensorData.Create(Parse(p => float.Parse(p, inv)), dims),
            OnnxDataType.Double => TensorData.Create(Parse(p => double.Parse(p, inv)), dims),
            OnnxDataType.Bool => TensorData.Create(Parse(p => p.ToLowerInvariant() switch
            {
                "true" or "1" => true,
                "false" or "0" => false,
                _ => throw new FormatException(),
            }), dims),
            _ => throw new ArgumentException($"specialize: input '{input.Name}' is {type}; fixed values can be int64, int32, float, double or bool"),
        };
    }

    /// <summary>Evaluates main-graph nodes whose inputs are all constants (small outputs only); returns how many folded.</summary>
    private static int FoldConstants(OnnxGraph graph, OnnxModel model)
    {
        int folded = 0;
        foreach (var node in graph.TopologicalOrder())
        {
            if (node.Output.Count == 0 || node.GetSubgraphs().Any() || NeverFolded.Contains(node.OpType))
            {
                continue;
            }
            if (!node.Input.All(i => i.Length == 0 || graph.IsInitializer(i)) || node.Output.Any(o => graph.IsGraphOutput(o)))
            {
                continue;
            }
            // Weight transforms would not fold into anything small: not worth a session each.
            if (node.Input.Any(i => i.Length > 0 && graph.FindInitializer(i)!.Dims.Aggregate(1L, (a, b) => a * b) > 16 * MaxFoldedElements))
            {
                continue;
            }
            if (TryFold(graph, model, node, name => graph.FindInitializer(name), MaxFoldedElements))
            {
                folded++;
            }
        }
        return folded;
    }

    /// <summary>Replaces a node whose inputs are all constants by its outputs as initializers, when <see cref="Evaluate"/> can run it.</summary>
    internal static bool TryFold(OnnxGraph graph, OnnxModel model, NodeProto node, Func<string, TensorProto?> constant, long maxElements)
    {
        if (Evaluate(model, node, constant, maxElements) is not { } results)
        {
            return false;
        }
        graph.RemoveNode(node);
        foreach (var tensor in results)
        {
            graph.AddInitializer(tensor);
        }
        return true;
    }

    /// <summary>Runs one node whose inputs are all constants in ONNX Runtime; null when it cannot run alone or its outputs are too large or not tensors.</summary>
    internal static List<TensorProto>? Evaluate(OnnxModel model, NodeProto node, Func<string, TensorProto?> constant, long maxElements)
    {
        var probe = OnnxModel.Create("fold", model.OpsetFor("") ?? OnnxModel.DefaultOpsetVersion);
        foreach (var (domain, version) in model.OpsetImports)
        {
            probe.SetOpset(domain, version);
        }
        var probeGraph = probe.Graph;
        foreach (string input in node.Input.Where(i => i.Length > 0).Distinct())
        {
            var value = constant(input)?.Clone();
            if (value is null)
            {
                return null;
            }
            value.Name = input;
            probeGraph.AddInitializer(value);
        }
        probeGraph.AddNode(node.Clone());
        var outputs = node.Output.Where(o => o.Length > 0).ToList();
        foreach (string output in outputs)
        {
            probeGraph.Outputs.Add(new ValueInfoProto { Name = output });
        }
        try
        {
            using var options = ModelSession.CreateOptions(GraphOptimizationLevel.ORT_DISABLE_ALL);
            using var session = new InferenceSession(probe.ToBytes(), options);
            using var runOptions = new RunOptions();
            using var values = session.Run(runOptions, Array.Empty<string>(), Array.Empty<OrtValue>(), outputs);
            var tensors = new List<TensorProto>();
            for (int i = 0; i < outputs.Count; i++)
            {
                var value = values[i];
                if (!value.IsTensor)
                {
                    return null;
                }
                var info = value.GetTensorTypeAndShape();
                if (info.ElementDataType == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.String || info.ElementCount > maxElements)
                {
                    return null;
                }
                var tensor = new TensorProto { Name = outputs[i], DataType = (int)info.ElementDataType, RawData = ByteString.CopyFrom(value.GetTensorDataAsSpan<byte>()) };
                tensor.Dims.AddRange(info.Shape);
                tensors.Add(tensor);
            }
            return tensors;
        }
        catch (OnnxRuntimeException)
        {
            return null; // not evaluable on its own (e.g. a custom op): it stays a node
        }
    }

    /// <summary>Replaces an If whose condition is a constant by the nodes of the branch it takes.</summary>
    private static string InlineIf(OnnxGraph graph, NodeProto node)
    {
        bool condition = TensorData.FromProto(graph.FindInitializer(node.Input[0])!).ToFloatArray() is [var value, ..] && value != 0;
        string attributeName = condition ? "then_branch" : "else_branch";
        var branch = node.FindAttribute(attributeName)?.G
            ?? throw new InvalidDataException($"If '{node.Name}' has no {attributeName}");
        string label = $"If '{(node.Name.Length > 0 ? node.Name : node.Output.FirstOrDefault())}' → {attributeName}";
        branch = branch.Clone();
        // Every name the branch defines gets a fresh one: branches may reuse names, and the outer graph must stay SSA.
        var renames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string name in branch.Initializer.Select(i => i.Name).Concat(branch.Node.SelectMany(n => n.Output)).Where(n => n.Length > 0))
        {
            renames.TryAdd(name, graph.UniqueName(name));
        }
        foreach (var initializer in branch.Initializer)
        {
            initializer.Name = renames[initializer.Name];
            graph.AddInitializer(initializer);
        }
        int index = graph.IndexOf(node);
        graph.RemoveNode(node);
        var inserted = new List<NodeProto>();
        foreach (var inner in branch.Node)
        {
            foreach (var nested in inner.GetSubgraphs())
            {
                foreach (var (from, to) in renames)
                {
                    RenameReads(nested, from, to);
                }
            }
            for (int i = 0; i < inner.Input.Count; i++)
            {
                if (renames.TryGetValue(inner.Input[i], out var renamed))
                {
                    inner.Input[i] = renamed;
                }
            }
            for (int i = 0; i < inner.Output.Count; i++)
            {
                if (renames.TryGetValue(inner.Output[i], out var renamed))
                {
                    inner.Output[i] = renamed;
                }
            }
            inner.Name = graph.UniqueName(inner.Name.Length > 0 ? inner.Name : inner.OpType);
            inserted.Add(inner);
        }
        // The If's outputs keep their names (they may be graph outputs): Identity from the branch's results.
        for (int i = 0; i < node.Output.Count; i++)
        {
            if (node.Output[i].Length == 0)
            {
                continue;
            }
            string source = branch.Output[i].Name;
            source = renames.GetValueOrDefault(source, source);
            inserted.Add(GraphNodes.Create("Identity", [source], [node.Output[i]], graph.UniqueName($"{node.Output[i]}_Identity")));
        }
        foreach (var inner in inserted)
        {
            graph.InsertNode(index++, inner);
        }
        graph.Invalidate();
        return label;
    }

    private static void RenameReads(GraphProto graph, string from, string to)
    {
        if (graph.Input.Any(i => i.Name == from) || graph.Initializer.Any(i => i.Name == from) || graph.Node.Any(n => n.Output.Contains(from)))
        {
            return; // shadowed
        }
        foreach (var node in graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (node.Input[i] == from)
                {
                    node.Input[i] = to;
                }
            }
            foreach (var nested in node.GetSubgraphs())
            {
                RenameReads(nested, from, to);
            }
        }
        foreach (var output in graph.Output.Where(o => o.Name == from))
        {
            output.Name = to;
        }
    }
}
