using System.Globalization;
using EdgeRuntime.Bundles;
using EdgeRuntime.Deployment;
using EdgeRuntime.Fleet.Mqtt;
using EdgeRuntime.Uplink;
using Microsoft.Extensions.Logging;

namespace EdgeRuntime.Fleet.Deployment;

/// <summary>What `edgert fleet rollout` was given.</summary>
public sealed record RolloutRequest
{
    /// <summary>A signed bundle directory, or the archive packed from one.</summary>
    public required string Bundle { get; init; }
    public required string DeviceClass { get; init; }
    public required string Stages { get; init; }
    public required string MaxFailure { get; init; }
    public int MinDevices { get; init; } = 1;
    public TimeSpan StageTimeout { get; init; } = TimeSpan.FromMinutes(30);
    public int ChunkSize { get; init; } = Uplink.Deployment.DesiredBundle.DefaultChunkSize;
    /// <summary>Stay and drive the rollout to its end (otherwise start it, give the first stage the bundle, and return).</summary>
    public bool Wait { get; init; } = true;

    /// <summary>The plan for the bundle <see cref="Bundle"/> resolved to (checked by the caller).</summary>
    public RolloutPlan ToPlan(string name, string version, string archive) => new()
    {
        BundleName = name,
        Version = version,
        ArchivePath = archive,
        DeviceClass = DeviceClass,
        Stages = RolloutPlan.ParseStages(Stages),
        MaxFailure = RolloutPlan.ParsePercent(MaxFailure, "max failure"),
        MinDevices = MinDevices,
        StageTimeout = StageTimeout,
        ChunkSize = ChunkSize,
    };
}

/// <summary>The library behind `edgert fleet rollout` and its pause, resume, abort and status subcommands.</summary>
public static class FleetRollout
{
    /// <summary>How long a command listens for the devices' retained statuses before it decides anything.</summary>
    public static readonly TimeSpan StatusSettle = TimeSpan.FromSeconds(2);

    public static async Task<RolloutSummary> StartAsync(MqttBrokerOptions broker, string topicPrefix, string database, RolloutRequest request, ILogger? logger,
        CancellationToken cancellationToken)
    {
        var (name, version, archive) = ResolveBundle(request.Bundle, Path.Combine(Path.GetDirectoryName(Path.GetFullPath(database))!, "rollout-archives"));
        var plan = request.ToPlan(name, version, archive);
        plan.Validate();
        await using var session = await FleetConnection.ConnectAsync(broker, cancellationToken);
        var controller = new RolloutController(database, session, new RolloutOptions { TopicPrefix = topicPrefix }, logger: logger);
        await controller.ListenAsync(StatusSettle, cancellationToken);
        var rollout = await Publishing(() => controller.StartAsync(plan, cancellationToken));
        if (request.Wait)
        {
            rollout = await Publishing(() => controller.RunAsync(rollout.Id, cancellationToken));
        }
        return RolloutSummary.From(rollout, DateTimeOffset.UtcNow);
    }

    public static RolloutSummary Pause(string database, string? id) => RolloutSummary.From(RolloutController.SetPaused(database, id, paused: true), DateTimeOffset.UtcNow);

    /// <summary>Lets a paused rollout go on; with <paramref name="wait"/>, drives it to its end (also how a rollout whose command was stopped is taken up again).</summary>
    public static async Task<RolloutSummary> ResumeAsync(MqttBrokerOptions? broker, string topicPrefix, string database, string? id, bool wait, ILogger? logger,
        CancellationToken cancellationToken)
    {
        var rollout = RolloutController.Status(database, id)[0];
        if (rollout.State == RolloutState.Paused)
        {
            rollout = RolloutController.SetPaused(database, rollout.Id, paused: false);
        }
        else if (rollout.State != RolloutState.Running)
        {
            throw new ArgumentException($"rollout {rollout.Id} is {RolloutStore.Name(rollout.State)}; only a paused or running one can be resumed");
        }
        if (!wait)
        {
            return RolloutSummary.From(rollout, DateTimeOffset.UtcNow);
        }
        if (broker is null)
        {
            throw new ArgumentException("resume drives the rollout: give --mqtt HOST:PORT (or --no-wait to only mark it running)");
        }
        await using var session = await FleetConnection.ConnectAsync(broker, cancellationToken);
        var controller = new RolloutController(database, session, new RolloutOptions { TopicPrefix = topicPrefix }, logger: logger);
        await controller.ListenAsync(StatusSettle, cancellationToken);
        rollout = await Publishing(() => controller.RunAsync(rollout.Id, cancellationToken));
        return RolloutSummary.From(rollout, DateTimeOffset.UtcNow);
    }

    public static async Task<RolloutSummary> AbortAsync(MqttBrokerOptions broker, string topicPrefix, string database, string? id, string reason, ILogger? logger,
        CancellationToken cancellationToken)
    {
        await using var session = await FleetConnection.ConnectAsync(broker, cancellationToken);
        var controller = new RolloutController(database, session, new RolloutOptions { TopicPrefix = topicPrefix }, logger: logger);
        await controller.ListenAsync(StatusSettle, cancellationToken);
        var rollout = await Publishing(() => controller.AbortAsync(id, reason, cancellationToken));
        return RolloutSummary.From(rollout, DateTimeOffset.UtcNow);
    }

    public static IReadOnlyList<RolloutSummary> Status(string database, string? id)
    {
        if (!File.Exists(database))
        {
            throw new ArgumentException($"fleet database '{database}' does not exist");
        }
        return [.. RolloutController.Status(database, id).Select(r => RolloutSummary.From(r, DateTimeOffset.UtcNow))];
    }

    /// <summary>
    /// Name, version and archive of a signed bundle directory (packed into <paramref name="archives"/>) or of an
    /// archive (unpacked into a scratch directory to read its manifest, which also proves it unpacks).
    /// </summary>
    public static (string Name, string Version, string Archive) ResolveBundle(string path, string archives)
    {
        if (Directory.Exists(path))
        {
            var manifest = ModelBundle.Open(path).Manifest;
            RequireVersion(manifest, path);
            Directory.CreateDirectory(archives);
            string archive = Path.Combine(archives, string.Create(CultureInfo.InvariantCulture, $"{manifest.Name}-{manifest.Version}.tar"));
            BundleArchive.Pack(path, archive);
            return (manifest.Name, manifest.Version.ToString(CultureInfo.InvariantCulture), archive);
        }
        if (!File.Exists(path))
        {
            throw new ArgumentException($"bundle '{path}' is neither a bundle directory nor an archive");
        }
        string scratch = Path.Combine(Path.GetTempPath(), "edgeruntime-rollout", Guid.NewGuid().ToString("N"));
        try
        {
            try
            {
                BundleArchive.Extract(path, scratch, new ArchiveLimits());
            }
            catch (DeploymentRefusedException e)
            {
                throw new ArgumentException($"bundle archive '{path}': {e.Message}", e);
            }
            var manifest = ModelBundle.Open(scratch, checkHashes: false).Manifest;
            RequireVersion(manifest, path);
            return (manifest.Name, manifest.Version.ToString(CultureInfo.InvariantCulture), Path.GetFullPath(path));
        }
        finally
        {
            if (Directory.Exists(scratch))
            {
                Directory.Delete(scratch, recursive: true);
            }
        }
    }

    private static void RequireVersion(BundleManifest manifest, string path)
    {
        if (manifest.Version <= 0)
        {
            throw new ArgumentException($"bundle '{path}' has no version: sign it with one ('edgert bundle sign --version N') before rolling it out");
        }
    }

    /// <summary>Broker failures as I/O errors the command line reports plainly.</summary>
    private static async Task<T> Publishing<T>(Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (MqttSessionException e)
        {
            throw new IOException(e.Message, e);
        }
    }
}
