using System.Buffers;
using EdgeRuntime.Bundles;
using EdgeRuntime.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace EdgeRuntime.Inference;

/// <summary>
/// One variant's ONNX Runtime session, shared by concurrent requests and reference counted:
/// retiring it drops the owner's reference, and the last request to finish disposes the session.
/// </summary>
internal sealed class LoadedVariant
{
    private readonly InferenceSession _session;
    private readonly ExecutionKnobs _sessionKnobs;
    private readonly Func<ExecutionKnobs, InferenceSession>? _createSession;
    private readonly Lock _knobGate = new();
    private readonly IDisposable? _shared;
    // Sessions for execution settings other than the first one, made on first use (ONNX Runtime fixes threads per session).
    private volatile Dictionary<ExecutionKnobs, InferenceSession> _knobSessions = [];
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly TensorSignature[] _inputs;
    private readonly TensorSignature[] _outputs;
    private readonly OwnerReferenceCount _references = new();
    private volatile OutputShapes? _lastShapes;
    private volatile bool _outputsDependOnData;

    public LoadedVariant(string id, InferenceSession session, long residentBytes)
        : this(id, session, ExecutionKnobs.AllThreads(SharedOrtEnvironment.GlobalPoolSpins), null, residentBytes, null)
    {
    }

    /// <param name="sessionKnobs">The execution setting <paramref name="session"/> was made for.</param>
    /// <param name="createSession">Makes a session of the same model for another setting; null: every setting runs on <paramref name="session"/>.</param>
    /// <param name="shared">State the sessions share (pre-packed weights), disposed after the last of them.</param>
    public LoadedVariant(string id, InferenceSession session, ExecutionKnobs sessionKnobs, Func<ExecutionKnobs, InferenceSession>? createSession, long residentBytes, IDisposable? shared)
    {
        _shared = shared;
        Id = id;
        _session = session;
        _sessionKnobs = sessionKnobs.Normalized;
        _createSession = createSession;
        Inputs = OrtSignatures.Read(session.InputMetadata, "input");
        Outputs = OrtSignatures.Read(session.OutputMetadata, "output");
        _inputs = [.. Inputs];
        _outputs = [.. Outputs];
        _inputNames = [.. _inputs.Select(i => i.Name)];
        _outputNames = [.. _outputs.Select(o => o.Name)];
        ResidentBytes = residentBytes;
    }

    public string Id { get; }
    public IReadOnlyList<TensorSignature> Inputs { get; }
    public IReadOnlyList<TensorSignature> Outputs { get; }
    public long ResidentBytes { get; }
    public bool IsDisposed => _references.IsReleased;

    public bool TryAcquire() => _references.TryAcquire();

    /// <summary>Bytes the extra per-setting sessions added (working-set growth when each was made).</summary>
    public long KnobSessionBytes { get; private set; }

    /// <summary>Execution settings with a session ready.</summary>
    public IReadOnlyList<ExecutionKnobs> PreparedKnobs => [_sessionKnobs, .. _knobSessions.Keys];

    public void Release()
    {
        if (_references.Release())
        {
            DisposeSessions();
        }
    }

    /// <summary>No new requests may start; the session goes once the ones in flight finish.</summary>
    public void Retire()
    {
        if (_references.Retire())
        {
            DisposeSessions();
        }
    }

    private void DisposeSessions()
    {
        _session.Dispose();
        lock (_knobGate)
        {
            foreach (var session in _knobSessions.Values)
            {
                session.Dispose();
            }
            _knobSessions = [];
        }
        _shared?.Dispose();
    }

    /// <summary>The session for an execution setting, made (and kept) on first use. The caller holds a reference.</summary>
    public InferenceSession SessionFor(ExecutionKnobs knobs)
    {
        knobs = knobs.Normalized;
        if (knobs == _sessionKnobs || _createSession is null)
        {
            return _session;
        }
        if (_knobSessions.TryGetValue(knobs, out var ready))
        {
            return ready;
        }
        lock (_knobGate)
        {
            if (_knobSessions.TryGetValue(knobs, out ready))
            {
                return ready;
            }
            long before = Environment.WorkingSet;
            var made = _createSession(knobs);
            KnobSessionBytes += Math.Max(0, Environment.WorkingSet - before);
            // Copy-on-write: readers never see a dictionary being changed.
            _knobSessions = new Dictionary<ExecutionKnobs, InferenceSession>(_knobSessions) { [knobs] = made };
            return made;
        }
    }

    /// <summary>Runs one inference on the caller's thread with the first session's setting. The caller holds a reference.</summary>
    public NamedTensor[] Run(IReadOnlyList<NamedTensor> inputs, RunOptions runOptions, OutputAllocator? allocate = null) =>
        Run(inputs, runOptions, _sessionKnobs, allocate);

    /// <summary>Runs one inference on the caller's thread with an execution setting. The caller holds a reference.</summary>
    public NamedTensor[] Run(IReadOnlyList<NamedTensor> inputs, RunOptions runOptions, ExecutionKnobs knobs, OutputAllocator? allocate = null)
    {
        var session = SessionFor(knobs);
        var ordered = OrderAndValidate(inputs);
        int count = ordered.Length;
        var pins = new MemoryHandle[count];
        var values = new OrtValue[count];
        try
        {
            for (int i = 0; i < count; i++)
            {
                values[i] = CreateOrtValue(ordered[i], ref pins[i]);
            }
            var shapes = _outputsDependOnData ? null : _lastShapes;
            if (shapes is not null && shapes.Matches(ordered))
            {
                try
                {
                    return RunIntoPreallocated(session, values, shapes.Outputs, runOptions, allocate);
                }
                catch (OnnxRuntimeException) when (!runOptions.Terminate)
                {
                    // The outputs' shapes depend on the data, not only on the input shapes.
                    _outputsDependOnData = true;
                }
            }
            return RunAndCopy(session, ordered, values, runOptions, allocate);
        }
        finally
        {
            for (int i = 0; i < count; i++)
            {
                values[i]?.Dispose();
                pins[i].Dispose();
            }
        }
    }

    private NamedTensor[] RunAndCopy(InferenceSession session, NamedTensor[] inputs, OrtValue[] values, RunOptions runOptions, OutputAllocator? allocate)
    {
        using var results = session.Run(runOptions, _inputNames, values, _outputNames);
        var outputs = new NamedTensor[_outputNames.Length];
        var shapes = new long[outputs.Length][];
        int index = 0;
        foreach (var value in results)
        {
            var info = value.GetTensorTypeAndShape();
            var type = (ElementType)(int)info.ElementDataType;
            if (type == ElementType.String)
            {
                throw new NotSupportedException($"output '{_outputNames[index]}' is a string tensor, which the runtime does not return");
            }
            shapes[index] = info.Shape;
            var raw = value.GetTensorMutableRawData();
            Memory<byte> data = allocate?.Invoke(_outputNames[index], type, info.Shape, raw.Length) ?? new byte[raw.Length];
            raw.CopyTo(data.Span);
            outputs[index] = new NamedTensor(_outputNames[index], type, info.Shape, data[..raw.Length]);
            index++;
        }
        _lastShapes = new OutputShapes([.. inputs.Select(i => i.Shape)], shapes);
        return outputs;
    }

    private NamedTensor[] RunIntoPreallocated(InferenceSession session, OrtValue[] inputValues, long[][] outputShapes, RunOptions runOptions, OutputAllocator? allocate)
    {
        int count = _outputs.Length;
        var outputs = new NamedTensor[count];
        var pins = new MemoryHandle[count];
        var values = new OrtValue[count];
        try
        {
            for (int i = 0; i < count; i++)
            {
                var shape = outputShapes[i];
                var type = _outputs[i].ElementType;
                int length = checked((int)(NamedTensor.ElementCount(shape, _outputNames[i]) * type.SizeOf()));
                var memory = allocate?.Invoke(_outputNames[i], type, shape, length) ?? new byte[length];
                outputs[i] = new NamedTensor(_outputNames[i], type, shape, memory[..length]);
                values[i] = CreateOrtValue(outputs[i], ref pins[i]);
            }
            session.Run(runOptions, _inputNames, inputValues, _outputNames, values);
            return outputs;
        }
        finally
        {
            for (int i = 0; i < count; i++)
            {
                values[i]?.Dispose();
                pins[i].Dispose();
            }
        }
    }

    private static readonly byte[] EmptyBacking = new byte[1];

    private static unsafe OrtValue CreateOrtValue(NamedTensor tensor, ref MemoryHandle pin)
    {
        // A zero-element tensor still needs a valid data pointer.
        pin = tensor.Data.Length == 0 ? EmptyBacking.AsMemory().Pin() : tensor.Data.Pin();
        return OrtValue.CreateTensorValueWithData(
            OrtMemoryInfo.DefaultInstance,
            (TensorElementType)(int)tensor.ElementType,
            tensor.Shape,
            (nint)pin.Pointer,
            tensor.Data.Length);
    }

    private NamedTensor[] OrderAndValidate(IReadOnlyList<NamedTensor> inputs)
    {
        if (inputs.Count != _inputs.Length)
        {
            throw new InvalidInputException(
                $"variant '{Id}' takes {_inputs.Length} input(s) ({string.Join(", ", _inputs.Select(i => i.ToString()))}), got {inputs.Count}");
        }
        var ordered = new NamedTensor[_inputs.Length];
        for (int i = 0; i < _inputs.Length; i++)
        {
            var expected = _inputs[i];
            NamedTensor? given = null;
            for (int j = 0; j < inputs.Count; j++)
            {
                if (inputs[j].Name == expected.Name)
                {
                    given = inputs[j];
                    break;
                }
            }
            if (given is null)
            {
                throw new InvalidInputException(
                    $"input '{expected.Name}' is missing; got {string.Join(", ", inputs.Select(t => $"'{t.Name}'"))}");
            }
            if (given.ElementType != expected.ElementType)
            {
                throw new InvalidInputException($"input '{expected.Name}' must be {expected.ElementType.ToName()}, got {given.ElementType.ToName()}");
            }
            if (given.Shape.Length != expected.Shape.Count)
            {
                throw new InvalidInputException($"input '{expected.Name}' must have rank {expected.Shape.Count} ({expected}), got shape [{string.Join(",", given.Shape)}]");
            }
            for (int d = 0; d < given.Shape.Length; d++)
            {
                if (expected.Shape[d].Size is long size && size != given.Shape[d])
                {
                    throw new InvalidInputException($"input '{expected.Name}' dimension {d} must be {size} ({expected}), got shape [{string.Join(",", given.Shape)}]");
                }
            }
            ordered[i] = given;
        }
        return ordered;
    }

    /// <summary>Output shapes seen for one set of input shapes, to let the next run write outputs in place.</summary>
    private sealed class OutputShapes(long[][] inputs, long[][] outputs)
    {
        public long[][] Outputs { get; } = outputs;

        public bool Matches(NamedTensor[] given)
        {
            for (int i = 0; i < given.Length; i++)
            {
                if (!given[i].Shape.AsSpan().SequenceEqual(inputs[i]))
                {
                    return false;
                }
            }
            return true;
        }
    }
}
