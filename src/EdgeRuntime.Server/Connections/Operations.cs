using EdgeRuntime.Protocol;
using EdgeRuntime.Protocol.Messages;

namespace EdgeRuntime.Server.Connections;

/// <summary>The operations answered on a connection's read loop: each checks its request and maps the daemon's answer to the wire.</summary>
internal static class Operations
{
    public static ListModelsResponse ListModels(ServerContext server) =>
        new() { Models = [.. server.Registry.Models.Select(m => WireMapping.ToWire(m.Describe()))] };

    public static StatusResponse Status(ServerContext server, StatusRequest request)
    {
        var scheduler = server.Scheduler;
        var models = request.Model is null ? server.Registry.Models : [server.Registry.Resolve(request.Model)];
        var status = new StatusResponse
        {
            Server = new ServerStatus
            {
                Version = ServerContext.Version,
                UptimeMs = (long)server.Time.GetElapsedTime(server.StartedAt).TotalMilliseconds,
                Connections = server.Connections,
                Workers = scheduler.Workers,
                QueueDepth = scheduler.QueueDepth,
                QueueCapacity = scheduler.Capacity,
                InFlight = scheduler.InFlight,
                Completed = scheduler.Completed,
                Failed = scheduler.Failed,
                Overloaded = scheduler.Overloaded,
                Expired = scheduler.Expired,
                Cancelled = scheduler.Cancelled,
                Healthy = scheduler.IsHealthy(server.Options.StallLimit),
                Draining = server.Draining,
                ConnectionsTimedOut = server.TimedOut,
                ConnectionsRefused = server.Refused,
            },
            Models = [.. models.Select(m => WireMapping.ToWire(m.Report()))],
        };
        var governance = server.Governance.Report();
        WireMapping.Fill(status, governance);
        var cpu = server.Cpu.Sample(scheduler.Completed);
        status.Server.CpuSeconds = server.Cpu.Total.TotalSeconds;
        status.Server.CpuWindowSeconds = cpu.Seconds;
        status.Server.CpuSecondsPerInference = cpu.CpuSecondsPerInference;
        status.Server.CpuUtilisation = cpu.Utilisation;
        double? mhz = governance.Snapshot is { } snapshot && snapshot.CpuMhz.TryGetValue(out double now) ? now : null;
        if (cpu.CpuSecondsPerInference is double perInference && server.Governance.JoulesPerCpuSecond(mhz) is double joules)
        {
            status.Server.EnergyMillijoulesPerInference = perInference * joules * 1000;
        }
        if (server.Telemetry is { } log)
        {
            var failingSince = log.FailingSince;
            long lost = log.LostTotal;
            status.Telemetry = new TelemetryStatus
            {
                State = failingSince is not null || lost > 0 ? "degraded" : "ok",
                LostRecords = lost,
                WriteErrors = log.WriteErrors,
                FailingSinceUnixMs = failingSince?.ToUnixTimeMilliseconds(),
                LastError = log.LastError,
                LastSequence = log.LastSequence,
            };
        }
        return status;
    }

    public static SetHintsResponse SetHints(ServerContext server, SetHintsRequest request)
    {
        if (request.Hints is null)
        {
            throw new ProtocolException(ErrorCode.InvalidRequest, "set-hints: 'hints' is required");
        }
        if (request.Hints.Count > server.Options.MaxHints)
        {
            throw new ProtocolException(ErrorCode.InvalidRequest, $"set-hints: at most {server.Options.MaxHints} hints per request");
        }
        var model = server.Registry.Resolve(request.Model);
        var hints = model.SetHints(request.Hints);
        return new SetHintsResponse { Model = model.Name, Hints = hints, CurrentVariant = model.CurrentVariant };
    }

    /// <summary>Checks an inference request's fields before any of its tensors are looked at.</summary>
    public static void CheckInfer(InferRequest request)
    {
        if (request.Inputs is null)
        {
            throw new ProtocolException(ErrorCode.InvalidRequest, "infer: 'inputs' is required");
        }
        if (request.Priority is < 0 or > 2)
        {
            throw new ProtocolException(ErrorCode.InvalidRequest, $"infer: 'priority' must be 0 (low), 1 (normal) or 2 (high), got {request.Priority}");
        }
        if (request.MinQuality is double floor && !double.IsFinite(floor))
        {
            throw new ProtocolException(ErrorCode.InvalidRequest, "infer: 'min_quality' must be a finite number");
        }
    }
}
