using EdgeRuntime.Telemetry;
using MQTTnet;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using EdgeRuntime.Protocol;

namespace EdgeRuntime.Uplink;

/// <summary>
/// Store-and-forward of the device's telemetry log to the broker. Records after the saved cursor are read from
/// the segment files and published QoS 1 in batches; the cursor moves only past records the broker acknowledged
/// (PUBACK), so a lost connection, a broker restart or a restart of the device resends from there: at-least-once,
/// with ingest dropping the duplicates by (device id, sequence). While the broker is away nothing is read or
/// lost: the log keeps the records. Records the log evicted before they were sent are reported as a gap.
/// A broker acknowledges a message before it has saved or forwarded it, so one that crashes at that moment loses
/// it; ingest sees the hole in the sequence numbers and asks for a resend on <c>{prefix}/replay/{deviceId}</c>,
/// which moves the cursor back.
/// </summary>
public sealed class TelemetryUplink : IAsyncDisposable
{
    private const int MaxGapsKept = 32;

    private readonly UplinkOptions _options;
    private readonly MqttSession _session;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<long>? _uploadLimit;
    private readonly string _directory;
    private readonly string _cursorPath;
    private readonly string _topic;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly Lock _gate = new();
    private readonly List<string> _gaps = [];
    private readonly List<(long Sequence, TaskCompletionSource Done)> _waiters = [];
    private UplinkCursor _cursor;
    private UplinkCursor _savedCursor;
    private long _lastSave;
    private (int Count, long Last, long Length, long Limit, UplinkCursor Cursor)? _caughtUpAt;
    private long _gapReportedUpTo;
    private long _rewindTo = -1;
    private long _replays;
    private Task _loop = Task.CompletedTask;
    private long _records;
    private long _messages;
    private long _missing;
    private long _failures;
    private string? _lastError;

    /// <param name="uploadLimit">Highest sequence safe to send (the writer's durable sequence when it runs in this process), so a record a
    /// power loss could still take back is never sent; null: every intact record in the files.</param>
    public TelemetryUplink(UplinkOptions options, MqttSession session, TimeProvider? time = null, ILogger? logger = null, Func<long>? uploadLimit = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _directory = options.LogDirectory ?? throw new ArgumentException("invalid uplink options: LogDirectory must be set to upload telemetry");
        _options = options;
        _session = session;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _uploadLimit = uploadLimit;
        _cursorPath = options.ResolvedCursorPath;
        _topic = UplinkTopics.Telemetry(options.TopicPrefix, options.DeviceClass, options.DeviceId);
        _cursor = _savedCursor = UplinkCursor.Load(_cursorPath);
        _gapReportedUpTo = _cursor.Sequence;
    }

    public string Topic => _topic;
    /// <summary>The last record the broker acknowledged.</summary>
    public UplinkCursor Cursor => Volatile.Read(ref _cursor);
    public long RecordsSent => Interlocked.Read(ref _records);
    public long MessagesSent => Interlocked.Read(ref _messages);
    /// <summary>Records that were gone from the log before they could be sent.</summary>
    public long RecordsMissing => Interlocked.Read(ref _missing);
    public long PublishFailures => Interlocked.Read(ref _failures);
    public string? LastError => Volatile.Read(ref _lastError);
    /// <summary>Resend requests from ingest that moved the cursor back.</summary>
    public long Replays => Interlocked.Read(ref _replays);

    /// <summary>Ranges of sequence numbers that could not be sent, most recent last.</summary>
    public IReadOnlyList<string> Gaps
    {
        get
        {
            lock (_gate)
            {
                return [.. _gaps];
            }
        }
    }

    public void Start()
    {
        string replay = UplinkTopics.Replay(_options.TopicPrefix, _options.DeviceId);
        _session.MessageReceived += e =>
        {
            if (e.ApplicationMessage.Topic == replay)
            {
                OnReplayRequest(e.ApplicationMessage.ConvertPayloadToString());
            }
            return Task.CompletedTask;
        };
        _loop = Task.Run(async () =>
        {
            await _session.SubscribeAsync(replay, _stopping.Token).ConfigureAwait(false);
            await RunAsync(_stopping.Token).ConfigureAwait(false);
        });
    }

    private void OnReplayRequest(string text)
    {
        if (!long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long from) || from < 1)
        {
            _logger.LogWarning("Telemetry uplink: ignored a resend request that is not a sequence number: '{Text}'", text.Length > 40 ? text[..40] : text);
            return;
        }
        _logger.LogInformation("Telemetry uplink: ingest asks for the records from {From} again", from);
        Interlocked.Exchange(ref _rewindTo, from - 1);
        Notify();
    }

    /// <summary>Looks at the log now instead of at the next poll.</summary>
    public void Notify()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
        }
    }

    /// <summary>Completes once the broker acknowledged every record up to <paramref name="sequence"/>.</summary>
    public Task WaitForAsync(long sequence, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_cursor.Sequence >= sequence)
            {
                return Task.CompletedTask;
            }
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((sequence, done));
            return done.Task.WaitAsync(cancellationToken);
        }
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        var backoff = new ExponentialBackoff(_options.Broker.BackoffMin, _options.Broker.BackoffMax);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await _session.WaitConnectedAsync(stopping).ConfigureAwait(false);
                await PumpAsync(stopping).ConfigureAwait(false);
                backoff.Reset();
                SaveCursor(force: true);
                await _wake.WaitAsync(_options.PollInterval, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is MqttSessionException or IOException or UnauthorizedAccessException or InvalidDataException)
            {
                Interlocked.Increment(ref _failures);
                Volatile.Write(ref _lastError, e.Message);
                SaveCursorQuietly();
                var wait = backoff.Next();
                _logger.LogWarning("Telemetry uplink: {Reason}; records after {Sequence} are resent in {Wait:F1} s or on reconnect",
                    e.Message, _cursor.Sequence, wait.TotalSeconds);
                try
                {
                    await Task.Delay(wait, _time, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        SaveCursorQuietly();
    }

    /// <summary>Sends every record after the cursor that the log holds now.</summary>
    private async Task PumpAsync(CancellationToken stopping)
    {
        var segments = SegmentFiles.List(_directory);
        if (segments.Count == 0)
        {
            return;
        }
        long limit = _uploadLimit?.Invoke() ?? long.MaxValue;
        long rewind = Interlocked.Exchange(ref _rewindTo, -1);
        if (rewind >= 0 && rewind < _cursor.Sequence)
        {
            // Segment 0: the cursor's segment is only where reading may start; the records wanted may be in an earlier one.
            Interlocked.Increment(ref _replays);
            SetCursor(new UplinkCursor(0, rewind));
            _caughtUpAt = null;
        }
        var cursor = _cursor;
        (int Count, long Last, long Length, long Limit, UplinkCursor Cursor) state = (segments.Count, segments[^1].Number, Length(segments[^1].Path), limit, cursor);
        if (_caughtUpAt == state)
        {
            return;
        }
        if (segments[^1].Number < cursor.Segment)
        {
            // Segment numbers only grow while the log lives: a smaller one means the log was deleted and started over.
            _logger.LogWarning("Telemetry uplink: the log in {Directory} ends at segment {Last}, before the cursor's segment {Cursor}; it was recreated, so uploading starts over",
                _directory, segments[^1].Number, cursor.Segment);
            SetCursor(UplinkCursor.Start);
            _gapReportedUpTo = 0;
            cursor = UplinkCursor.Start;
        }
        var batch = new List<byte[]>(_options.BatchSize);
        long batchFirst = 0;
        long batchSegment = 0;
        long expected = cursor.Sequence + 1;
        foreach (var (number, path) in segments)
        {
            if (number < cursor.Segment)
            {
                continue;
            }
            FileStream stream;
            try
            {
                stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024);
            }
            catch (FileNotFoundException)
            {
                continue; // Evicted since it was listed; the gap shows in the sequence numbers.
            }
            using (stream)
            {
                var reader = new LogBlockReader(stream);
                while (reader.ReadRecord() is byte[] bytes)
                {
                    // Records go out as the log holds them; only the sequence number is read (ingest checks the rest).
                    if (!TelemetryMessage.TryReadSequence(bytes, out long sequence) || sequence < expected)
                    {
                        continue;
                    }
                    if (sequence > limit)
                    {
                        break;
                    }
                    if (sequence > expected)
                    {
                        ReportGap(expected, sequence - 1);
                    }
                    expected = sequence + 1;
                    if (batch.Count == 0)
                    {
                        batchFirst = sequence;
                    }
                    batch.Add(bytes);
                    batchSegment = number;
                    if (batch.Count == _options.BatchSize)
                    {
                        await PublishAsync(batch, batchFirst, sequence, batchSegment, stopping).ConfigureAwait(false);
                        batch.Clear();
                    }
                }
            }
        }
        if (batch.Count > 0)
        {
            await PublishAsync(batch, batchFirst, expected - 1, batchSegment, stopping).ConfigureAwait(false);
        }
        _caughtUpAt = state with { Cursor = _cursor };
    }

    private async Task PublishAsync(List<byte[]> batch, long first, long last, long segment, CancellationToken stopping)
    {
        var message = TelemetryMessage.CreateFromEncoded(_topic, batch, _options.DeviceId, first, last);
        if (await _session.PublishAsync(message, stopping).ConfigureAwait(false) is string refusal)
        {
            throw new MqttSessionException($"records {TelemetryMessage.RecordId(_options.DeviceId, first, last)}: {refusal}");
        }
        Interlocked.Add(ref _records, batch.Count);
        Interlocked.Increment(ref _messages);
        SetCursor(new UplinkCursor(segment, last));
        SaveCursor(force: false);
    }

    private void SetCursor(UplinkCursor cursor)
    {
        List<TaskCompletionSource> done = [];
        lock (_gate)
        {
            _cursor = cursor;
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Sequence <= cursor.Sequence)
                {
                    done.Add(_waiters[i].Done);
                    _waiters.RemoveAt(i);
                }
            }
        }
        foreach (var waiter in done)
        {
            waiter.TrySetResult();
        }
    }

    private void ReportGap(long first, long last)
    {
        if (last <= _gapReportedUpTo)
        {
            return;
        }
        first = Math.Max(first, _gapReportedUpTo + 1);
        _gapReportedUpTo = last;
        Interlocked.Add(ref _missing, last - first + 1);
        string gap = $"records {first}-{last} ({last - first + 1}) were no longer in the log (evicted before they were sent, or lost on the device)";
        lock (_gate)
        {
            _gaps.Add(gap);
            if (_gaps.Count > MaxGapsKept)
            {
                _gaps.RemoveAt(0);
            }
        }
        _logger.LogWarning("Telemetry uplink: {Gap}", gap);
    }

    private void SaveCursor(bool force)
    {
        var cursor = _cursor;
        if (cursor == _savedCursor)
        {
            return;
        }
        long now = _time.GetTimestamp();
        if (!force && _time.GetElapsedTime(_lastSave, now) < _options.CursorSaveInterval)
        {
            return;
        }
        cursor.Save(_cursorPath);
        _savedCursor = cursor;
        _lastSave = now;
    }

    private void SaveCursorQuietly()
    {
        try
        {
            SaveCursor(force: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("Telemetry uplink: saving the cursor to {Path} failed: {Reason}; a restart resends from the last saved one", _cursorPath, e.Message);
        }
    }

    private static long Length(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (IOException)
        {
            return -1;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();
        _wake.Dispose();
    }
}
