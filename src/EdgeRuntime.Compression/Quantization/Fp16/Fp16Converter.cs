using EdgeRuntime.Compression.Diff;
using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Quantization.Fp16;

/// <summary>
/// Converts a float32 model to float16: float initializers, Constant values and float activations
/// become float16, graph inputs and outputs keep float32 (Casts at the edges), integer and shape
/// tensors are untouched. Ops on the block list and ops of other domains stay float32 with Casts around
/// them and a warning. If / Loop / Scan bodies are converted like the main graph: each body keeps its
/// inputs and outputs (so the control-flow node's interface) in float32 with Casts inside the body, and
/// values it reads from enclosing graphs reach it as float32. LSTM/GRU/RNN stay float32: ONNX Runtime's
/// CPU provider has no float16 kernel for them.
/// </summary>
/// <remarks>
/// Where float16 pays: on x86 (measured on AMD EPYC with AVX-512, ONNX Runtime 1.31) the CPU provider
/// has float16 kernels for almost nothing; it wraps nearly every op in Casts to float32 and back and
/// folds the casts of the weights when it loads the model, so it runs the float32 graph again. A float16
/// model is only a storage format there: half the file, the same latency and run-time memory as float32
/// (see README.md in this folder for the figures). ARMv8.2+ boards (Cortex-A55/A76, e.g. Raspberry Pi 5,
/// Jetson Orin) have float16 arithmetic, and ONNX Runtime's arm64 builds have float16 kernels for part
/// of the ops; only there can the variant also be faster.
/// </remarks>
public static class Fp16Converter
{
    private const float Float16Max = 65504f;

    public static QuantizationResult Convert(OnnxModel model, Fp16Options? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new Fp16Options();
        options.Validate();
        var converted = model.Clone();
        if (converted.HasExternalData)
        {
            converted.InternalizeExternalData();
        }
        var graph = converted.Graph;
        // A weight only one body reads moves into that body, where it can be stored as float16.
        ScopedGraph.LocalizeInitializers(graph);
        var types = TensorTypeInference.Infer(converted);
        CheckExcludedNodesExist(graph, options);
        var conversions = new List<Conversion>();
        foreach (var scope in ScopedGraph.All(graph))
        {
            var conversion = new Conversion(scope.Graph, graph, types, options, scope.IsMain ? "" : $" in {scope.Location}");
            conversion.Run();
            conversions.Add(conversion);
        }
        int converted16 = conversions.Sum(c => c.ConvertedNodes);
        if (converted16 == 0)
        {
            throw new NothingToQuantizeException($"fp16: nothing to convert: no node computes on float32 values in the main graph or any body{(conversions.SelectMany(c => c.Warnings).FirstOrDefault() is { } first ? $"; {first}" : "")}");
        }
        int inBodies = conversions.Skip(1).Sum(c => c.ConvertedNodes);
        converted.SetMetadata("edgeruntime.quantization.mode", QuantizationMode.Fp16.ToName());
        if (options.VerifyWithOnnxRuntime)
        {
            QuantizedModelCheck.Verify(converted, "fp16 conversion", "fp16", "keep the op it names in float32 with Fp16Options.BlockedOps or ExcludedNodes");
        }
        return new QuantizationResult(converted, QuantizationMode.Fp16)
        {
            FloatNodes = [.. conversions.SelectMany(c => c.FloatNodes)],
            Warnings = [.. conversions.SelectMany(c => c.Warnings)],
            QuantizedNodes = converted16,
            QuantizedInSubgraphs = inBodies,
            Applied =
            [
                "fp16: float32 weights and activations stored as float16; graph inputs and outputs keep float32",
                $"fp16: {converted16} nodes in float16 ({inBodies} inside If/Loop/Scan bodies), {conversions.Sum(c => c.FloatNodes.Count)} kept in float32, {conversions.Sum(c => c.CastsAdded)} Casts added",
            ],
        };
    }

    private static void CheckExcludedNodesExist(OnnxGraph graph, Fp16Options options)
    {
        var names = new HashSet<string>(ScopedGraph.All(graph).SelectMany(g => g.Graph.Nodes).Select(n => n.Name), StringComparer.Ordinal);
        var unknown = options.ExcludedNodes.Where(n => !names.Contains(n)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"fp16: no node named {string.Join(", ", unknown.Select(n => $"'{n}'"))} in the model to keep in float32");
        }
    }

    /// <summary>One conversion's state: which nodes run in float16 and which tensors hold float16.</summary>
    /// <param name="graph">The graph converted: the main graph or one body.</param>
    /// <param name="names">The main graph, whose unique names are unique in every body too.</param>
    /// <param name="where">" in If 'x' then_branch" for messages about a body; empty for the main graph.</param>
    private sealed class Conversion(OnnxGraph graph, OnnxGraph names, Dictionary<string, OnnxDataType> types, Fp16Options options, string where)
    {
        private readonly Dictionary<NodeProto, string> _blocked = new(ReferenceEqualityComparer.Instance);
        private readonly HashSet<string> _half = new(StringComparer.Ordinal);
        private readonly Dictionary<(string Name, bool ToHalf), string> _casts = [];
        private readonly List<string> _warnings = [];
        private readonly List<string> _floatNodes = [];
        private int _clamped;
        private int _outputCasts;

        public int ConvertedNodes { get; private set; }
        public int CastsAdded => _casts.Count + _outputCasts;
        public IReadOnlyList<string> FloatNodes => _floatNodes;
        public IReadOnlyList<string> Warnings => _warnings;

        public void Run()
        {
            var nodes = graph.Nodes.ToList();
            foreach (var node in nodes)
            {
                if (BlockReason(node) is { } reason)
                {
                    _blocked[node] = reason;
                }
            }
            ConvertInitializers();
            foreach (var node in nodes.Where(n => !_blocked.ContainsKey(n)))
            {
                ConvertNode(node);
            }
            var outputCasts = KeepFloatOutputs();
            foreach (var node in nodes)
            {
                RewireInputs(node);
            }
            foreach (var (inner, output) in outputCasts)
            {
                graph.AddNode("Cast", [inner], [output], names.UniqueName($"{output}_to_float")).SetInt("to", (long)OnnxDataType.Float);
                _outputCasts++;
            }
            MarkValueInfos();
            graph.Invalidate();
            graph.SortTopologically();
            Report(nodes);
        }

        private const string ControlFlow = "control flow: its inputs and outputs stay float32, its bodies are converted";

        private bool IsFloat(string name) => name.Length > 0 && types.TryGetValue(name, out var type) && type == OnnxDataType.Float;

        private string? BlockReason(NodeProto node)
        {
            if (options.ExcludedNodes.Contains(node.Name))
            {
                return "excluded";
            }
            if (node.GetSubgraphs().Any())
            {
                return ControlFlow;
            }
            if (node.Domain is not ("" or "ai.onnx"))
            {
                return $"op of domain '{node.Domain}' has no known float16 form";
            }
            if (options.BlockedOps.TryGetValue(node.OpType, out var reason))
            {
                return reason;
            }
            // Sequences and optionals would need their element types rewritten; leave them alone.
            if (node.Input.Concat(node.Output).Any(name => name.Length > 0 && types.TryGetValue(name, out var type) && type == OnnxDataType.Undefined))
            {
                return "it reads or writes non-tensor values";
            }
            return null;
        }

        /// <summary>A float initializer read by a float16 node is stored as float16 (float32 readers get a Cast).</summary>
        private void ConvertInitializers()
        {
            foreach (var initializer in graph.Initializers.ToList())
            {
                string name = initializer.Name;
                if ((OnnxDataType)initializer.DataType != OnnxDataType.Float || graph.IsGraphOutput(name) || graph.IsGraphInput(name))
                {
                    continue;
                }
                bool readInHalf = graph.GetUses(name).Any(use => !use.IsSubgraphUse && !_blocked.ContainsKey(use.Node));
                if (readInHalf)
                {
                    graph.SetInitializer(name, ToHalf(graph.GetInitializerData(name)));
                    _half.Add(name);
                }
            }
        }

        private void ConvertNode(NodeProto node)
        {
            bool touchesFloat = false;
            foreach (string output in node.Output)
            {
                if (IsFloat(output))
                {
                    _half.Add(output);
                    touchesFloat = true;
                }
            }
            touchesFloat |= node.Input.Any(IsFloat);
            if (touchesFloat)
            {
                ConvertedNodes++;
            }
            switch (node.OpType)
            {
                case "Constant":
                    ConvertConstant(node);
                    break;
                case "ConstantOfShape":
                    ConvertConstantOfShape(node);
                    break;
                case "Cast" or "EyeLike":
                    string attribute = node.OpType == "Cast" ? "to" : "dtype";
                    if (node.HasAttribute(attribute) && node.GetInt(attribute) == (long)OnnxDataType.Float)
                    {
                        node.SetInt(attribute, (long)OnnxDataType.Float16);
                    }
                    break;
            }
        }

        private void ConvertConstant(NodeProto node)
        {
            if (node.FindAttribute("value") is { T: { } tensor } && (OnnxDataType)tensor.DataType == OnnxDataType.Float)
            {
                node.SetTensor("value", ToHalf(TensorData.FromProto(tensor, graph.ExternalDataDirectory)).ToProto(tensor.Name));
            }
            else if (node.HasAttribute("value_float"))
            {
                float value = node.GetFloat("value_float");
                node.RemoveAttribute("value_float");
                node.SetTensor("value", ToHalf(TensorData.Scalar(value)).ToProto(""));
            }
            else if (node.HasAttribute("value_floats"))
            {
                float[] values = node.GetFloats("value_floats");
                node.RemoveAttribute("value_floats");
                node.SetTensor("value", ToHalf(TensorData.Vector(values)).ToProto(""));
            }
        }

        private void ConvertConstantOfShape(NodeProto node)
        {
            if (node.FindAttribute("value") is { T: { } tensor })
            {
                if ((OnnxDataType)tensor.DataType == OnnxDataType.Float)
                {
                    node.SetTensor("value", ToHalf(TensorData.FromProto(tensor, graph.ExternalDataDirectory)).ToProto(tensor.Name));
                }
            }
            else
            {
                // Without a value the op makes float32 zeros.
                node.SetTensor("value", TensorData.Vector([Half.Zero]).ToProto(""));
            }
        }

        /// <summary>
        /// Graph outputs keep float32: a float16 producer writes a new name, and a Cast writes the output.
        /// Returns (new name, output name) pairs for the Casts to add once readers are rewired.
        /// </summary>
        private List<(string Inner, string Output)> KeepFloatOutputs()
        {
            var pending = new List<(string, string)>();
            foreach (var output in graph.Outputs)
            {
                string name = output.Name;
                if (!_half.Contains(name) || graph.GetProducer(name) is not { } producer)
                {
                    continue;
                }
                string inner = names.UniqueName($"{name}_fp16");
                graph.ReplaceUses(name, inner);
                producer.Output[producer.Output.IndexOf(name)] = inner;
                graph.Invalidate();
                types[inner] = OnnxDataType.Float;
                _half.Remove(name);
                _half.Add(inner);
                pending.Add((inner, name));
            }
            return pending;
        }

        /// <summary>Gives each float input the precision its reader computes in, through a shared Cast where they differ.</summary>
        private void RewireInputs(NodeProto node)
        {
            bool wantsHalf = !_blocked.ContainsKey(node);
            for (int i = 0; i < node.Input.Count; i++)
            {
                string input = node.Input[i];
                if (IsFloat(input) && _half.Contains(input) != wantsHalf)
                {
                    node.Input[i] = CastOf(input, wantsHalf);
                }
            }
            graph.Invalidate();
            foreach (string read in graph.GetSubgraphReads(node).ToList())
            {
                if (IsFloat(read) && _half.Contains(read))
                {
                    string cast = CastOf(read, toHalf: false);
                    graph.ReplaceUses(read, cast, use => ReferenceEquals(use.Node, node) && use.IsSubgraphUse);
                }
            }
        }

        private string CastOf(string name, bool toHalf)
        {
            if (_casts.TryGetValue((name, toHalf), out var existing))
            {
                return existing;
            }
            string cast = names.UniqueName(toHalf ? $"{name}_fp16" : $"{name}_fp32");
            graph.AddNode("Cast", [name], [cast], names.UniqueName($"{cast}_cast")).SetInt("to", (long)(toHalf ? OnnxDataType.Float16 : OnnxDataType.Float));
            types[cast] = OnnxDataType.Float;
            if (toHalf)
            {
                _half.Add(cast);
            }
            _casts[(name, toHalf)] = cast;
            return cast;
        }

        private void MarkValueInfos()
        {
            foreach (var info in graph.ValueInfos)
            {
                if (_half.Contains(info.Name) && info.GetElementType() == OnnxDataType.Float)
                {
                    info.Type.TensorType.ElemType = (int)OnnxDataType.Float16;
                }
            }
        }

        private TensorData ToHalf(TensorData data)
        {
            float[] values = data.ToFloatArray();
            var half = new Half[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                float value = values[i];
                if (Math.Abs(value) > Float16Max && float.IsFinite(value))
                {
                    value = Math.Sign(value) * Float16Max;
                    _clamped++;
                }
                half[i] = (Half)value;
            }
            return TensorData.Create(half, [.. data.Dims]);
        }

        private void Report(IReadOnlyList<NodeProto> nodes)
        {
            var kept = nodes
                .Where(n => _blocked.TryGetValue(n, out var reason) && reason != ControlFlow && n.Input.Concat(n.Output).Any(IsFloat))
                .ToList();
            foreach (var node in kept)
            {
                _floatNodes.Add(node.Name.Length > 0 ? node.Name : node.Output.FirstOrDefault(o => o.Length > 0) ?? node.OpType);
            }
            foreach (var group in kept.GroupBy(n => (n.Domain, n.OpType, Reason: _blocked[n])))
            {
                string op = group.Key.Domain is "" or "ai.onnx" ? group.Key.OpType : $"{group.Key.Domain}.{group.Key.OpType}";
                string list = string.Join(", ", group.Take(5).Select(GraphNodes.Describe)) + (group.Count() > 5 ? ", ..." : "");
                _warnings.Add($"kept {group.Count()} {op} node(s){where} in float32 ({group.Key.Reason}): {list}");
            }
            if (_clamped > 0)
            {
                _warnings.Add($"{_clamped} weight value(s) beyond the float16 range were clamped to ±{Float16Max}");
            }
        }
    }
}
