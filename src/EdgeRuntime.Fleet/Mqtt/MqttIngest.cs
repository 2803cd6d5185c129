using System.Buffers;
using System.Diagnostics;
using System.Threading.Channels;
using EdgeRuntime.Telemetry;
using EdgeRuntime.Uplink;
using MQTTnet;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeRuntime.Fleet.Mqtt;

/// <summary>What an MQTT ingest run received and stored.</summary>
public sealed record MqttIngestReport(long Messages, long RecordsReceived, long RecordsInserted, long Duplicates, long RejectedMessages,
    long Devices, double Seconds, long Connects, long ReplaysRequested)
{
    public double RecordsPerSecond => Seconds > 0 ? RecordsReceived / Seconds : 0;
}

/// <summary>
/// Fleet ingest from the broker: a persistent session (the broker queues telemetry while ingest is down)
/// subscribed QoS 1 to every device's telemetry. Messages are stored in DuckDB in small groups and acknowledged
/// only after they are stored, so a crash of ingest or a lost connection makes the broker deliver them again;
/// <see cref="FleetStore.IngestRecords"/> drops what it already holds, by (device id, sequence). A device's
/// sequence numbers have no holes on its side, so a batch that starts past the highest number seen from it means
/// messages were lost on the way (a broker killed between acknowledging and saving them): ingest asks the device
/// to send again from the hole, once per hole.
/// </summary>
public sealed class MqttIngest : IAsyncDisposable
{
    private const int MaxRecordsPerCommit = 20_000;
    private static readonly TimeSpan CommitLinger = TimeSpan.FromMilliseconds(20);
    private const int CommitLingerPasses = 10;

    private readonly FleetStore _store;
    private readonly MqttSession _session;
    private readonly string _prefix;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<(IReadOnlyList<TelemetryRecord>? Records, MqttApplicationMessageReceivedEventArgs Delivery)> _received =
        Channel.CreateUnbounded<(IReadOnlyList<TelemetryRecord>?, MqttApplicationMessageReceivedEventArgs)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly HashSet<string> _devices = [];
    private readonly Lock _storeGate = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly Dictionary<string, long> _highest = [];
    private readonly Dictionary<string, long> _replayRequested = [];
    private long _replays;
    // Messages received but not yet stored and acknowledged.
    private long _unsettled;
    private readonly long _started;
    private Task _writer = Task.CompletedTask;
    private long _lastActivity;
    private long _messages;
    private long _records;
    private long _inserted;
    private long _rejected;

    /// <param name="broker">Its <see cref="MqttBrokerOptions.ClientId"/> names the persistent session: keep it the same between runs.</param>
    public MqttIngest(FleetStore store, MqttBrokerOptions broker, string topicPrefix = UplinkTopics.DefaultPrefix, TimeProvider? time = null, ILogger? logger = null)
    {
        if (UplinkTopics.PrefixProblem(topicPrefix) is string problem)
        {
            throw new ArgumentException(problem);
        }
        _store = store;
        _prefix = topicPrefix;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _session = new MqttSession(broker, TimeSpan.FromDays(7), _time, _logger);
        _session.MessageReceived += OnMessageAsync;
        _started = _lastActivity = _time.GetTimestamp();
    }

    public MqttSession Session => _session;

    /// <summary>Reads the store between commits (a DuckDB connection serves one thread at a time).</summary>
    public T Query<T>(Func<FleetStore, T> read)
    {
        lock (_storeGate)
        {
            return read(_store);
        }
    }
    public long RecordsInserted => Interlocked.Read(ref _inserted);

    public MqttIngestReport Report()
    {
        int devices;
        lock (_devices)
        {
            devices = _devices.Count;
        }
        long received = Interlocked.Read(ref _records), inserted = Interlocked.Read(ref _inserted);
        return new MqttIngestReport(Interlocked.Read(ref _messages), received, inserted, received - inserted, Interlocked.Read(ref _rejected), devices,
            _time.GetElapsedTime(_started).TotalSeconds, _session.Connects, Interlocked.Read(ref _replays));
    }

    /// <summary>Connects and subscribes; messages are stored from then on.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _writer = Task.Run(WriteLoopAsync, CancellationToken.None);
        _session.Start();
        await _session.SubscribeAsync(UplinkTopics.AllTelemetry(_prefix), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs until cancelled, or until nothing arrived for <paramref name="untilIdle"/> (after connecting).</summary>
    public async Task RunAsync(TimeSpan? untilIdle, CancellationToken cancellationToken)
    {
        var poll = untilIdle is TimeSpan idle ? TimeSpan.FromMilliseconds(Math.Clamp(idle.TotalMilliseconds / 4, 10, 500)) : Timeout.InfiniteTimeSpan;
        try
        {
            // Idle time counts from the subscription, not from the start: a slow broker is not a quiet fleet.
            await _session.WaitConnectedAsync(cancellationToken).ConfigureAwait(false);
            Interlocked.Exchange(ref _lastActivity, Math.Max(Interlocked.Read(ref _lastActivity), _time.GetTimestamp()));
            while (true)
            {
                await Task.Delay(poll, _time, cancellationToken).ConfigureAwait(false);
                if (untilIdle is TimeSpan limit && _session.IsConnected &&
                    _time.GetElapsedTime(Interlocked.Read(ref _lastActivity)) >= limit && Interlocked.Read(ref _unsettled) == 0)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl+C.
        }
    }

    private Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        Interlocked.Exchange(ref _lastActivity, _time.GetTimestamp());
        if (UplinkTopics.ParseTelemetry(_prefix, e.ApplicationMessage.Topic) is not var (deviceClass, deviceId))
        {
            return Task.CompletedTask;
        }
        Interlocked.Increment(ref _messages);
        IReadOnlyList<TelemetryRecord>? records = null;
        try
        {
            records = TelemetryMessage.Decode(e.ApplicationMessage.Payload.ToArray(), deviceId);
            if (records.FirstOrDefault(r => r.DeviceClass != deviceClass) is { } other)
            {
                throw new InvalidDataException($"record {other.Sequence} is of device class '{other.DeviceClass}', the topic says '{deviceClass}'");
            }
        }
        catch (InvalidDataException problem)
        {
            Interlocked.Increment(ref _rejected);
            records = null;
            _logger.LogWarning("Rejected telemetry message on {Topic}: {Reason}", e.ApplicationMessage.Topic, problem.Message);
        }
        // Acknowledged by the writer once stored (a rejected message at once: sending it again cannot help).
        e.AutoAcknowledge = false;
        Interlocked.Increment(ref _unsettled);
        _received.Writer.TryWrite((records, e));
        return Task.CompletedTask;
    }

    private async Task WriteLoopAsync()
    {
        var pending = new List<(IReadOnlyList<TelemetryRecord>? Records, MqttApplicationMessageReceivedEventArgs Delivery)>();
        while (await _received.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            int count = 0;
            for (int pass = 0; pass < CommitLingerPasses; pass++)
            {
                int before = pending.Count;
                while (count < MaxRecordsPerCommit && _received.Reader.TryRead(out var item))
                {
                    pending.Add(item);
                    count += item.Records?.Count ?? 0;
                }
                // Stop gathering once enough is there, or once nothing more came (the broker may be waiting for our acknowledgements).
                if (count >= MaxRecordsPerCommit / 4 || (pass > 0 && pending.Count == before))
                {
                    break;
                }
                // A commit costs milliseconds whatever its size: let a stream of small messages gather first.
                await Task.Delay(CommitLinger, _time).ConfigureAwait(false);
            }
            var records = pending.Where(p => p.Records is not null).SelectMany(p => p.Records!).ToList();
            if (records.Count > 0)
            {
                await StoreAsync(records).ConfigureAwait(false);
            }
            foreach (var (batch, _) in pending)
            {
                if (batch is not null)
                {
                    await CheckForHoleAsync(batch).ConfigureAwait(false);
                }
            }
            foreach (var (_, delivery) in pending)
            {
                try
                {
                    await delivery.AcknowledgeAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // The connection that delivered it is gone; the broker sends it again and the store drops the copy.
                    _logger.LogDebug("Acknowledging a telemetry message failed: {Reason}", e.Message);
                }
            }
            Interlocked.Exchange(ref _lastActivity, _time.GetTimestamp());
            Interlocked.Add(ref _unsettled, -pending.Count);
            pending.Clear();
        }
    }

    /// <summary>Stores the records, retrying while the database fails: they are not acknowledged before, so nothing is lost meanwhile.</summary>
    private async Task StoreAsync(List<TelemetryRecord> records)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                long inserted;
                lock (_storeGate)
                {
                    foreach (var record in records)
                    {
                        // A device first seen in this run: what the database already holds tells where it got to. A device the
                        // database has never seen starts at 1, so a first batch that starts later (the ones before it went to a
                        // broker that lost them, or out before this subscription existed) is asked for again too.
                        if (!_highest.ContainsKey(record.DeviceId))
                        {
                            _highest[record.DeviceId] = _store.HighestSequence(record.DeviceId) ?? 0;
                        }
                    }
                    inserted = _store.IngestRecords(records);
                    // Counted under the store's lock, so a reader that sees the records in the store also sees them counted.
                    Interlocked.Add(ref _records, records.Count);
                    Interlocked.Add(ref _inserted, inserted);
                }
                lock (_devices)
                {
                    foreach (var record in records)
                    {
                        _devices.Add(record.DeviceId);
                    }
                }
                return;
            }
            catch (IOException e)
            {
                var wait = TimeSpan.FromSeconds(Math.Min(30, attempt));
                _logger.LogError("Storing {Count} telemetry records failed: {Reason}; trying again in {Wait} s (they stay unacknowledged)",
                    records.Count, e.Message, wait.TotalSeconds);
                try
                {
                    await Task.Delay(wait, _time, _closing.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return; // Closing: left unacknowledged, the broker delivers them to the next run.
                }
            }
        }
    }

    private async Task CheckForHoleAsync(IReadOnlyList<TelemetryRecord> batch)
    {
        string device = batch[0].DeviceId;
        long highest = _highest[device];
        long first = batch[0].Sequence;
        _highest[device] = Math.Max(highest, batch[^1].Sequence);
        if (first <= highest + 1 || _replayRequested.GetValueOrDefault(device) == highest + 1)
        {
            return;
        }
        long from = highest + 1;
        _replayRequested[device] = from;
        Interlocked.Increment(ref _replays);
        _logger.LogWarning("Telemetry of {Device}: records {From}-{To} never arrived; asking the device to send again from {From}", device, from, first - 1, from);
        var request = new MqttApplicationMessageBuilder()
            .WithTopic(UplinkTopics.Replay(_prefix, device))
            .WithPayload(from.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
        try
        {
            if (await _session.PublishAsync(request, CancellationToken.None).ConfigureAwait(false) is string refusal)
            {
                _logger.LogWarning("Resend request to {Device} refused: {Reason}", device, refusal);
            }
        }
        catch (MqttSessionException e)
        {
            _replayRequested.Remove(device);
            _highest[device] = highest;
            _logger.LogWarning("Resend request to {Device} not sent: {Reason}; asked again with its next batch", device, e.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        await _session.DisposeAsync().ConfigureAwait(false);
        _received.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        _closing.Dispose();
    }
}
