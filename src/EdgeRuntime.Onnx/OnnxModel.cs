using Google.Protobuf;
using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>
/// An ONNX model: loading with readable errors, atomic saving, the model-level fields, and
/// the main <see cref="Graph"/>. Edits go straight to the underlying <see cref="ModelProto"/>.
/// </summary>
public sealed class OnnxModel
{
    /// <summary>Opset used by <see cref="Create"/>; supported by every ONNX Runtime from 1.12 on.</summary>
    public const long DefaultOpsetVersion = 17;

    /// <summary>The IR version that goes with <see cref="DefaultOpsetVersion"/>.</summary>
    public const long DefaultIrVersion = 8;

    private const string DefaultDomain = "";
    private const string DefaultDomainAlias = "ai.onnx";

    private OnnxGraph? _graph;
    private string? _baseDirectory;

    /// <summary>Wraps a parsed or hand-built model; <paramref name="sourcePath"/> is where it came from, if a file.</summary>
    public OnnxModel(ModelProto proto, string? sourcePath = null)
    {
        ArgumentNullException.ThrowIfNull(proto);
        if (proto.Graph is null)
        {
            throw new ArgumentException("The model has no graph.", nameof(proto));
        }

        Proto = proto;
        SourcePath = sourcePath is null ? null : Path.GetFullPath(sourcePath);
        BaseDirectory = SourcePath is null ? null : Path.GetDirectoryName(SourcePath);
    }

    public ModelProto Proto { get; }

    /// <summary>Full path of the file the model was loaded from, or null.</summary>
    public string? SourcePath { get; }

    /// <summary>
    /// Directory that external tensor data is relative to; the source file's directory by
    /// default, null for models built in memory or loaded from bytes.
    /// </summary>
    public string? BaseDirectory
    {
        get => _baseDirectory;
        set
        {
            _baseDirectory = value;
            if (_graph is not null)
            {
                _graph.ExternalDataDirectory = value;
            }
        }
    }

    public long IrVersion
    {
        get => Proto.IrVersion;
        set => Proto.IrVersion = value;
    }

    public string ProducerName
    {
        get => Proto.ProducerName;
        set => Proto.ProducerName = value;
    }

    public string ProducerVersion
    {
        get => Proto.ProducerVersion;
        set => Proto.ProducerVersion = value;
    }

    /// <summary>Imported opsets by domain; the default domain is "" (written "ai.onnx" by some tools).</summary>
    public IReadOnlyDictionary<string, long> OpsetImports
    {
        get
        {
            var imports = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var import in Proto.OpsetImport)
            {
                imports[NormalizeDomain(import.Domain)] = import.Version;
            }

            return imports;
        }
    }

    /// <summary>Key/value metadata (metadata_props); a repeated key keeps its last value.</summary>
    public IReadOnlyDictionary<string, string> Metadata
    {
        get
        {
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in Proto.MetadataProps)
            {
                metadata[entry.Key] = entry.Value;
            }

            return metadata;
        }
    }

    /// <summary>The main graph. Replacing <c>Proto.Graph</c> is picked up on the next access.</summary>
    public OnnxGraph Graph
    {
        get
        {
            if (_graph is null || !ReferenceEquals(_graph.Proto, Proto.Graph))
            {
                _graph = new OnnxGraph(
                    Proto.Graph ?? throw new InvalidOperationException("The model has no graph."),
                    BaseDirectory);
            }

            return _graph;
        }
    }

    /// <summary>The files (paths relative to the model, as written in the graph) that hold external tensor data.</summary>
    public IReadOnlyList<string> ExternalDataFiles => [.. AllTensors(Proto.Graph).Where(ExternalTensorData.IsExternal)
        .SelectMany(t => t.ExternalData.Where(e => e.Key == "location").Select(e => e.Value)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    /// <summary>True when some tensor keeps its bytes in a file next to the model.</summary>
    public bool HasExternalData => AllTensors(Proto.Graph).Any(ExternalTensorData.IsExternal);

    /// <summary>The opset version imported for a domain ("" or "ai.onnx" for standard ops), or null when not imported.</summary>
    public long? OpsetFor(string domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        string wanted = NormalizeDomain(domain);
        foreach (var import in Proto.OpsetImport)
        {
            if (NormalizeDomain(import.Domain) == wanted)
            {
                return import.Version;
            }
        }

        return null;
    }

    public void SetOpset(string domain, long version)
    {
        ArgumentNullException.ThrowIfNull(domain);
        string wanted = NormalizeDomain(domain);
        foreach (var import in Proto.OpsetImport)
        {
            if (NormalizeDomain(import.Domain) == wanted)
            {
                import.Version = version;
                return;
            }
        }

        Proto.OpsetImport.Add(new OperatorSetIdProto { Domain = wanted, Version = version });
    }

    public void SetMetadata(string key, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        for (int i = Proto.MetadataProps.Count - 1; i >= 0; i--)
        {
            if (Proto.MetadataProps[i].Key == key)
            {
                Proto.MetadataProps.RemoveAt(i);
            }
        }

        Proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
    }

    /// <summary>An empty model with one graph and the standard opset imported.</summary>
    public static OnnxModel Create(string graphName = "main", long opsetVersion = DefaultOpsetVersion, long irVersion = DefaultIrVersion)
    {
        var proto = new ModelProto
        {
            IrVersion = irVersion,
            ProducerName = "EdgeRuntime",
            Graph = new GraphProto { Name = graphName },
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = DefaultDomain, Version = opsetVersion });
        return new OnnxModel(proto);
    }

    /// <exception cref="OnnxFormatException">The file is empty, truncated, corrupt or not an ONNX model.</exception>
    public static OnnxModel Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        byte[] bytes = File.ReadAllBytes(fullPath);
        return Parse(bytes, $"Model file '{fullPath}'", fullPath);
    }

    /// <param name="sourceName">What to call the model in error messages, e.g. a resource name.</param>
    /// <exception cref="OnnxFormatException">The bytes are empty, truncated, corrupt or not an ONNX model.</exception>
    public static OnnxModel Load(byte[] bytes, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return Parse(bytes, sourceName is null ? "The model data" : $"Model '{sourceName}'", null);
    }

    /// <summary>Reads the whole stream; a <see cref="FileStream"/> also sets <see cref="SourcePath"/>.</summary>
    /// <exception cref="OnnxFormatException">The data is empty, truncated, corrupt or not an ONNX model.</exception>
    public static OnnxModel Load(Stream stream, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        byte[] bytes = buffer.ToArray();
        if (stream is FileStream file)
        {
            return Parse(bytes, $"Model file '{file.Name}'", file.Name);
        }

        return Parse(bytes, sourceName is null ? "The model data" : $"Model '{sourceName}'", null);
    }

    /// <summary>
    /// Writes the model to a temporary file beside <paramref name="path"/> and renames it into
    /// place, so readers never see a half-written model and a failed save leaves the old file intact.
    /// </summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        GuardExternalDataLocation(directory);
        Directory.CreateDirectory(directory);
        string temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                Proto.WriteTo(file);
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    public byte[] ToBytes() => Proto.ToByteArray();

    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Proto.WriteTo(stream);
    }

    /// <summary>A deep copy, e.g. to compress while keeping the original.</summary>
    public OnnxModel Clone() => new(Proto.Clone(), SourcePath) { BaseDirectory = BaseDirectory };

    /// <summary>
    /// Reads every external tensor into raw_data, so the model no longer depends on files beside
    /// it and can be saved anywhere. Returns how many tensors were read in.
    /// </summary>
    public int InternalizeExternalData()
    {
        int count = 0;
        foreach (var tensor in AllTensors(Proto.Graph).ToList())
        {
            if (!ExternalTensorData.IsExternal(tensor))
            {
                continue;
            }

            byte[] bytes = ExternalTensorData.Read(tensor, BaseDirectory);
            tensor.RawData = UnsafeByteOperations.UnsafeWrap(bytes);
            tensor.ExternalData.Clear();
            tensor.DataLocation = TensorProto.Types.DataLocation.Default;
            count++;
        }

        return count;
    }

    private static OnnxModel Parse(byte[] bytes, string source, string? path)
    {
        if (bytes.Length == 0)
        {
            throw new OnnxFormatException($"{source} is empty (0 bytes), so it is not an ONNX model.", path);
        }

        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new OnnxFormatException(
                $"{source} is not a valid ONNX model: its protobuf data ({bytes.Length} bytes) is truncated or corrupt. {ex.Message}",
                path,
                ex);
        }

        if (proto.Graph is null)
        {
            throw new OnnxFormatException(
                $"{source} has no graph: it is not an ONNX model, or it was cut short before the graph.", path);
        }

        if (proto.IrVersion <= 0)
        {
            throw new OnnxFormatException($"{source} has no ir_version, so it is not a valid ONNX model.", path);
        }

        if (proto.OpsetImport.Count == 0)
        {
            throw new OnnxFormatException(
                $"{source} has no opset_import: it is not a valid ONNX model, or it was cut short after the graph.", path);
        }

        return new OnnxModel(proto, path);
    }

    private void GuardExternalDataLocation(string targetDirectory)
    {
        if (!HasExternalData)
        {
            return;
        }

        bool sameDirectory = BaseDirectory is not null
            && string.Equals(Path.GetFullPath(BaseDirectory).TrimEnd(Path.DirectorySeparatorChar), targetDirectory.TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal);
        if (!sameDirectory)
        {
            throw new InvalidOperationException(
                $"The model keeps tensors in external files relative to '{BaseDirectory ?? "(no directory)"}', which would not be found next to '{targetDirectory}'. "
                + "Call InternalizeExternalData() first or save into the same directory.");
        }
    }

    private static IEnumerable<TensorProto> AllTensors(GraphProto? graph)
    {
        if (graph is null)
        {
            yield break;
        }

        foreach (var initializer in graph.Initializer)
        {
            yield return initializer;
        }

        foreach (var sparse in graph.SparseInitializer)
        {
            if (sparse.Values is not null)
            {
                yield return sparse.Values;
            }

            if (sparse.Indices is not null)
            {
                yield return sparse.Indices;
            }
        }

        foreach (var node in graph.Node)
        {
            foreach (var attribute in node.Attribute)
            {
                if (attribute.T is not null)
                {
                    yield return attribute.T;
                }

                foreach (var tensor in attribute.Tensors)
                {
                    yield return tensor;
                }
            }

            foreach (var subgraph in node.GetSubgraphs())
            {
                foreach (var tensor in AllTensors(subgraph))
                {
                    yield return tensor;
                }
            }
        }
    }

    private static string NormalizeDomain(string domain) => domain == DefaultDomainAlias ? DefaultDomain : domain;

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // The save already failed; a leftover temp file is the lesser problem.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
