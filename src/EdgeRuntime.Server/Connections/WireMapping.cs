using EdgeRuntime.Bundles;
using EdgeRuntime.Inference;
using EdgeRuntime.Protocol;
using EdgeRuntime.Protocol.Messages;
using EdgeRuntime.Server.Domain;
using EdgeRuntime.Server.Governance;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Server.Connections;

/// <summary>The daemon's own types in their wire form. Only the connection edge speaks the protocol.</summary>
internal static class WireMapping
{
    public static readonly string[] EventKinds = ["switch", "reload", "thermal", "hints"];

    public static ErrorCode ToWire(Refusal refusal) => refusal switch
    {
        Refusal.InvalidRequest => ErrorCode.InvalidRequest,
        Refusal.InvalidInput => ErrorCode.InvalidInput,
        Refusal.UnknownModel => ErrorCode.UnknownModel,
        Refusal.UnknownVariant => ErrorCode.UnknownVariant,
        Refusal.QualityUnavailable => ErrorCode.QualityUnavailable,
        Refusal.Overloaded => ErrorCode.Overloaded,
        Refusal.ShuttingDown => ErrorCode.ShuttingDown,
        Refusal.Cancelled => ErrorCode.Cancelled,
        Refusal.DeadlineExceeded => ErrorCode.DeadlineExceeded,
        Refusal.ReloadFailed => ErrorCode.ReloadFailed,
        Refusal.InferenceFailed => ErrorCode.InferenceFailed,
        _ => ErrorCode.Internal,
    };

    /// <summary>The subscription kind an event is delivered under.</summary>
    public static string KindOf(DaemonEvent daemonEvent) => daemonEvent switch
    {
        VariantSwitched => "switch",
        BundleReloaded or ProfileInForce => "reload",
        ThermalStateChanged => "thermal",
        HintsChanged => "hints",
        _ => throw new ArgumentOutOfRangeException(nameof(daemonEvent), daemonEvent.GetType().Name, "an event with no wire kind"),
    };

    public static ServerEvent ToWire(DaemonEvent daemonEvent, long dropped) => new()
    {
        Kind = KindOf(daemonEvent),
        Model = daemonEvent.Model,
        AtUnixMs = daemonEvent.At.ToUnixTimeMilliseconds(),
        Switch = daemonEvent is VariantSwitched change ? ToWire(change) : null,
        Detail = daemonEvent switch
        {
            BundleReloaded reload => reload.Path,
            ProfileInForce profile => profile.Detail,
            ThermalStateChanged thermal => thermal.Detail,
            HintsChanged hints => hints.Detail,
            _ => null,
        },
        Dropped = dropped,
    };

    public static SwitchEvent ToWire(VariantSwitched change) => new()
    {
        From = change.From,
        To = change.To,
        AtUnixMs = change.At.ToUnixTimeMilliseconds(),
        Reason = change.Reason,
        Code = change.Code,
    };

    public static InferResponse ToWire(InferenceOutcome outcome)
    {
        var outputs = new WireTensor[outcome.Result.Outputs.Count];
        for (int i = 0; i < outputs.Length; i++)
        {
            outputs[i] = WireTensors.ToWire(outcome.Result.Outputs[i]);
        }
        return new InferResponse
        {
            Model = outcome.Model,
            Variant = outcome.Result.VariantId,
            Outputs = outputs,
            RunMicroseconds = (long)outcome.Result.Latency.TotalMicroseconds,
            QueueMicroseconds = (long)outcome.Queued.TotalMicroseconds,
        };
    }

    public static ReloadResponse ToWire(ReloadOutcome reload) => new()
    {
        Model = reload.Model,
        Path = reload.Path,
        CurrentVariant = reload.CurrentVariant,
        Variants = [.. reload.Variants],
    };

    public static ReloadResponse ToWire(ProfileOutcome profile) => new()
    {
        Path = profile.Source == "client" ? "" : profile.Source,
        ProfileVersion = profile.Version,
        DeviceClass = profile.DeviceClass,
        Detail = profile.Detail,
    };

    public static ModelInfo ToWire(ModelDescription model) => new()
    {
        Name = model.Name,
        Path = model.Path,
        ReferenceVariant = model.ReferenceVariant,
        CurrentVariant = model.CurrentVariant,
        Inputs = [.. model.Inputs.Select(ToWire)],
        Outputs = [.. model.Outputs.Select(ToWire)],
        Variants =
        [
            .. model.Variants.Select(s => new VariantInfo
            {
                Id = s.Id,
                Precision = s.Manifest.Precision,
                SizeBytes = s.Manifest.SizeBytes,
                Sparsity = s.Manifest.Sparsity,
                QualityMetric = s.Manifest.Quality?.Metric,
                Quality = s.Manifest.Quality?.Value,
                State = StateName(s.State),
                UnavailableReason = s.Reason,
            }),
        ],
    };

    public static ModelStatus ToWire(ModelReport model) => new()
    {
        Name = model.Name,
        CurrentVariant = model.CurrentVariant,
        Variants =
        [
            .. model.Variants.Select(s => new VariantLatency
            {
                Id = s.Id,
                State = StateName(s.State),
                Current = s.IsCurrent,
                Count = s.Latency.TotalCount,
                Failures = s.Latency.Failures,
                P50Ms = NullIfNotFinite(s.Latency.P50Ms),
                P95Ms = NullIfNotFinite(s.Latency.P95Ms),
                P99Ms = NullIfNotFinite(s.Latency.P99Ms),
                EwmaMs = NullIfNotFinite(s.Latency.EwmaMs),
                UnavailableReason = s.State == VariantState.Unavailable ? s.Reason : null,
            }),
        ],
        Reasons = model.Reasons,
        Knobs = model.Knobs.Code,
        Runs = model.Cpu?.Inferences ?? 0,
        RunCpuSeconds = model.Cpu?.CallerCpu.TotalSeconds ?? 0,
        Switches = model.Switches,
        LastSwitch = model.LastSwitch is { } last ? ToWire(last) : null,
        Hints = new Dictionary<string, string>(model.Hints),
        Reloads = model.Reloads,
        Decisions =
        [
            .. model.Decisions.Select(e => new DecisionRecord
            {
                AtUnixMs = e.Latest.At.ToUnixTimeMilliseconds(),
                FirstAtUnixMs = e.FirstAt.ToUnixTimeMilliseconds(),
                Count = e.Count,
                From = e.Latest.Previous,
                To = e.Latest.Variant,
                Code = e.Latest.Reason.ToString(),
                Detail = e.Latest.Detail,
                TemperatureCelsius = e.Latest.TemperatureCelsius,
                PredictedP95Ms = NullIfNotFinite(e.Latest.PredictedP95Ms),
                SloP95Ms = e.Latest.SloP95Ms,
            }),
        ],
    };

    /// <summary>Fills the device and governor parts of a status reply.</summary>
    public static void Fill(StatusResponse response, GovernanceReport governance)
    {
        if (governance.Snapshot is { } snapshot)
        {
            response.Sensors = SensorReadout.Sensors(snapshot);
            response.ThermalState = SensorReadout.ThermalState(snapshot);
            response.Throttle = SensorReadout.Throttle(snapshot);
            response.PowerMode = SensorReadout.PowerMode(snapshot);
            response.SampledAtUnixMs = snapshot.Timestamp.ToUnixTimeMilliseconds();
        }
        response.Governor = new GovernorStatus
        {
            Adaptive = governance.Adaptive,
            Board = governance.Board,
            BoardReason = governance.BoardReason,
            DeviceClass = governance.Profile.DeviceClass,
            ProfileVersion = governance.Profile.Version,
            ProfileProvenance = governance.Profile.Provenance.Source,
            ProfileFrom = governance.ProfileFrom,
            ProfileRefusal = governance.ProfileRefusal,
            TickMs = governance.Tick.TotalMilliseconds,
            Ticks = governance.Ticks,
            TickFailures = governance.TickFailures,
            FailingForMs = governance.FailingFor is TimeSpan failing ? (long)failing.TotalMilliseconds : null,
            LastError = governance.LastError,
        };
    }

    private static TensorInfo ToWire(TensorSignature signature) => new()
    {
        Name = signature.Name,
        DataType = signature.ElementType.ToName(),
        Shape = [.. signature.Shape.Select(d => d.Size ?? -1)],
        DimensionNames = [.. signature.Shape.Select(d => d.Symbol)],
    };

    private static string StateName(VariantState state) => state switch
    {
        VariantState.Ready => "ready",
        VariantState.Unavailable => "unavailable",
        _ => "not_loaded",
    };

    private static double? NullIfNotFinite(double? value) => value is double v && double.IsFinite(v) ? v : null;
}
