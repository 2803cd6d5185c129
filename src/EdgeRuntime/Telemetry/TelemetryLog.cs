using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeRuntime.Telemetry;

/// <summary>
/// The device's append-only telemetry log. <see cref="TryWrite"/> only queues: a background writer frames,
/// appends and syncs, so inference never waits on the disk; when the queue is full the record is dropped and
/// counted. Every open starts a new segment (a torn tail of the previous run is left for the reader to drop);
/// segments roll at <see cref="TelemetryLogOptions.SegmentBytes"/> and the oldest are deleted to keep the total
/// under <see cref="TelemetryLogOptions.MaxTotalBytes"/>. Durability follows <see cref="TelemetrySyncPolicy"/>:
/// a record is durable once <see cref="DurableSequence"/> reaches its sequence number.
/// </summary>
public sealed class TelemetryLog : IAsyncDisposable
{
    private readonly TelemetryLogOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<string, Stream> _createSegment;
    private readonly Channel<PendingEntry> _queue;
    private readonly Task _writerTask;
    private readonly List<(long Number, string Path, long Length)> _segments = [];
    private Stream? _stream;
    private LogBlockWriter? _writer;
    private long _nextSegmentNumber;
    private long _lastWrittenSequence;
    private long _durableSequence;
    // Highest sequence either synced or already counted lost, so a failure counts each record once.
    private long _settledSequence;
    private long _dropped;
    private long _written;
    private long _writeErrors;
    private long _lostToErrors;
    private long _evicted;
    private DateTimeOffset _lastSync;
    private bool _unsynced;
    private readonly TelemetryLossLedger _ledger;
    private readonly Lock _lossGate = new();
    private long _droppedInLedger;
    private long _pendingLostFirst;
    private long _pendingLostLast = -1;
    private string? _pendingLostError;
    private DateTimeOffset? _failingSince;
    private DateTimeOffset _retryAt = DateTimeOffset.MinValue;
    private string? _lastError;

    private readonly record struct PendingEntry(TelemetryRecord? Record, TaskCompletionSource<bool>? Flushed);

    private TelemetryLog(TelemetryLogOptions options, TimeProvider time, ILogger logger, Func<string, Stream> createSegment)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _createSegment = createSegment;
        _queue = Channel.CreateBounded<PendingEntry>(new BoundedChannelOptions(options.QueueCapacity)
        {
            // Wait mode makes TryWrite report a full queue (DropWrite would accept and discard silently).
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _lastSync = time.GetUtcNow();
        _ledger = TelemetryLossLedger.Open(options.Directory);
        Recover();
        _writerTask = Task.Run(WriteLoopAsync);
    }

    /// <param name="createSegment">Creates a new segment file for writing; replaceable so tests can inject I/O failures.</param>
    public static TelemetryLog Open(TelemetryLogOptions options, TimeProvider? time = null, ILogger? logger = null, Func<string, Stream>? createSegment = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Directory.CreateDirectory(options.Directory);
        return new TelemetryLog(options, time ?? TimeProvider.System, logger ?? NullLogger.Instance,
            createSegment ?? (path => new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read | FileShare.Delete, 64 * 1024)));
    }

    public TelemetryLogOptions Options => _options;
    /// <summary>Records refused because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);
    /// <summary>Records appended to a segment (not necessarily synced yet).</summary>
    public long Written => Interlocked.Read(ref _written);
    public long WriteErrors => Interlocked.Read(ref _writeErrors);
    /// <summary>Records lost because writing them failed.</summary>
    public long LostToErrors => Interlocked.Read(ref _lostToErrors);
    public long EvictedSegments => Interlocked.Read(ref _evicted);
    /// <summary>Records lost since the log was created, across restarts: failed writes and a full queue (the ledger's count).</summary>
    public long LostTotal => _ledger.Total + (Dropped - Interlocked.Read(ref _droppedInLedger)) + PendingLost;
    /// <summary>Since when writes have been failing (the disk is full or gone); null while they succeed.</summary>
    public DateTimeOffset? FailingSince { get { lock (_lossGate) { return _failingSince; } } }
    /// <summary>The last write error's message, if any write failed in this run.</summary>
    public string? LastError { get { lock (_lossGate) { return _lastError; } } }
    private long PendingLost { get { lock (_lossGate) { return _pendingLostLast >= _pendingLostFirst ? _pendingLostLast - _pendingLostFirst + 1 : 0; } } }
    /// <summary>
    /// Every record up to this sequence number is on the storage device, except those counted in
    /// <see cref="LostToErrors"/> (a failed write is reported there and by <see cref="FlushAsync"/> returning false).
    /// </summary>
    public long DurableSequence => Interlocked.Read(ref _durableSequence);
    /// <summary>Sequence number of the last record appended.</summary>
    public long LastSequence => Interlocked.Read(ref _lastWrittenSequence);

    /// <summary>
    /// Queues a record without waiting. The log sets its sequence number, device fields and (when zero) its time;
    /// the caller must not change the record afterwards. False when the queue is full or the log is closed.
    /// </summary>
    public bool TryWrite(TelemetryRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        // Stamped here, not by the writer: the record's time is when it happened, not when the disk got to it.
        if (record.UnixTimeMilliseconds == 0)
        {
            record.UnixTimeMilliseconds = _time.GetUtcNow().ToUnixTimeMilliseconds();
        }
        if (_queue.Writer.TryWrite(new PendingEntry(record, null)))
        {
            return true;
        }
        Interlocked.Increment(ref _dropped);
        return false;
    }

    /// <summary>Waits until everything queued before the call is written and synced; false if an I/O error lost some of it.</summary>
    public async Task<bool> FlushAsync(CancellationToken cancellationToken = default)
    {
        var flushed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        long errorsBefore = WriteErrors;
        await _queue.Writer.WriteAsync(new PendingEntry(null, flushed), cancellationToken).ConfigureAwait(false);
        return await flushed.Task.WaitAsync(cancellationToken).ConfigureAwait(false) && WriteErrors == errorsBefore;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writerTask.ConfigureAwait(false);
        CloseSegment(sync: true);
        SettleLedger();
    }

    private void Recover()
    {
        foreach (var (number, path) in SegmentFiles.List(_options.Directory))
        {
            _segments.Add((number, path, new FileInfo(path).Length));
            _nextSegmentNumber = Math.Max(_nextSegmentNumber, number + 1);
        }
        if (_nextSegmentNumber == 0)
        {
            _nextSegmentNumber = 1;
        }
        // Sequence numbers continue from the newest segment that still holds an intact record.
        for (int i = _segments.Count - 1; i >= 0; i--)
        {
            using var stream = new FileStream(_segments[i].Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var report = TelemetryLogReader.ReadSegment(stream);
            if (report.LastSequence is long last)
            {
                _lastWrittenSequence = _durableSequence = _settledSequence = last;
                break;
            }
        }
        // Numbers spent on records that were lost are never reused, so the gap stays visible to a verifier.
        if (_ledger.Ranges.Count > 0 && _ledger.Ranges[^1][1] > _lastWrittenSequence)
        {
            _lastWrittenSequence = _durableSequence = _settledSequence = _ledger.Ranges[^1][1];
        }
        Evict();
    }

    private async Task WriteLoopAsync()
    {
        var flushes = new List<TaskCompletionSource<bool>>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (_queue.Reader.TryRead(out var entry))
            {
                if (entry.Record is not null)
                {
                    Append(entry.Record);
                }
                else if (entry.Flushed is not null)
                {
                    flushes.Add(entry.Flushed);
                }
            }
            bool synced = EndBatch(force: flushes.Count > 0);
            foreach (var flushed in flushes)
            {
                flushed.TrySetResult(synced);
            }
            flushes.Clear();
        }
    }

    private void Append(TelemetryRecord record)
    {
        long sequence = _lastWrittenSequence + 1;
        record.Sequence = sequence;
        record.DeviceId = _options.DeviceId;
        record.DeviceClass = _options.DeviceClass;
        byte[] payload = TelemetryCodec.Encode(record);
        if (_writer is null && _time.GetUtcNow() < _retryAt)
        {
            // The disk failed a moment ago: the record is lost (its number spent) rather than another empty segment made.
            Interlocked.Exchange(ref _lastWrittenSequence, sequence);
            _settledSequence = sequence;
            NoteLost(sequence, sequence, null);
            return;
        }
        try
        {
            if (_writer is null || _writer.Length >= _options.SegmentBytes)
            {
                StartSegment();
            }
            _writer!.AddRecord(payload);
            Interlocked.Exchange(ref _lastWrittenSequence, sequence);
            Interlocked.Increment(ref _written);
            _unsynced = true;
            var current = _segments[^1];
            _segments[^1] = current with { Length = _writer.Length };
            Recovered();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            // The number is spent even so: part of this record may be on disk, and ids must stay unique.
            Interlocked.Exchange(ref _lastWrittenSequence, sequence);
            Fail(e);
        }
    }

    /// <summary>Hands the batch to the OS and syncs as the policy says; true when everything written is durable.</summary>
    private bool EndBatch(bool force)
    {
        SettleLedger();
        if (_writer is null)
        {
            return !_unsynced;
        }
        try
        {
            _writer.Flush();
            var now = _time.GetUtcNow();
            bool due = _options.SyncPolicy switch
            {
                TelemetrySyncPolicy.EveryBatch => true,
                TelemetrySyncPolicy.Interval => now - _lastSync >= _options.SyncInterval,
                _ => false,
            };
            if ((due || force) && _unsynced)
            {
                _writer.Sync();
                _lastSync = now;
                _unsynced = false;
                Interlocked.Exchange(ref _durableSequence, _lastWrittenSequence);
                _settledSequence = _lastWrittenSequence;
            }
            return !_unsynced;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            Fail(e);
            return false;
        }
    }

    private void StartSegment()
    {
        CloseSegment(sync: true);
        long number = _nextSegmentNumber++;
        string path = Path.Combine(_options.Directory, SegmentFiles.NameOf(number));
        _stream = _createSegment(path);
        _writer = new LogBlockWriter(_stream);
        _segments.Add((number, path, 0));
        Evict();
    }

    private void CloseSegment(bool sync)
    {
        if (_writer is null || _stream is null)
        {
            return;
        }
        try
        {
            if (sync && _unsynced)
            {
                _writer.Sync();
                _unsynced = false;
                Interlocked.Exchange(ref _durableSequence, _lastWrittenSequence);
                _settledSequence = _lastWrittenSequence;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            Interlocked.Increment(ref _writeErrors);
            _logger.LogWarning(e, "telemetry: syncing segment failed");
        }
        finally
        {
            DisposeQuietly(_stream);
            _stream = null;
            _writer = null;
        }
    }

    private void Fail(Exception e)
    {
        Interlocked.Increment(ref _writeErrors);
        // Records appended since the last sync may or may not have reached the disk; count them lost (the reader
        // recovers whatever did) and start a fresh segment so nothing follows a torn record in the same file.
        long firstLost = _settledSequence + 1;
        _settledSequence = _lastWrittenSequence;
        NoteLost(firstLost, _lastWrittenSequence, e.Message);
        bool first;
        lock (_lossGate)
        {
            first = _failingSince is null;
            _failingSince ??= _time.GetUtcNow();
            _lastError = e.Message;
        }
        // Once per episode, not once per batch: a full disk stays full for a while.
        if (first)
        {
            _logger.LogWarning(e, "telemetry: write to {Directory} failed; records are lost and counted until writes succeed again", _options.Directory);
        }
        DisposeQuietly(_stream);
        _stream = null;
        _writer = null;
        _unsynced = false;
        _retryAt = _time.GetUtcNow() + _options.RetryInterval;
        // A segment the failure left empty is removed, so a full disk does not fill up with empty files.
        if (_segments.Count > 0 && _segments[^1].Length == 0)
        {
            try
            {
                File.Delete(_segments[^1].Path);
                _segments.RemoveAt(_segments.Count - 1);
            }
            catch (Exception delete) when (delete is IOException or UnauthorizedAccessException)
            {
                _logger.LogDebug("telemetry: could not remove empty segment {Segment}: {Reason}", _segments[^1].Path, delete.Message);
            }
        }
    }

    private void NoteLost(long first, long last, string? error)
    {
        if (last < first)
        {
            return;
        }
        Interlocked.Add(ref _lostToErrors, last - first + 1);
        lock (_lossGate)
        {
            if (_pendingLostLast < _pendingLostFirst)
            {
                _pendingLostFirst = first;
            }
            _pendingLostLast = last;
            _pendingLostError = error ?? _pendingLostError;
        }
    }

    /// <summary>Moves this batch's losses into the ledger on disk (an in-place rewrite, so it works on a full disk).</summary>
    private void SettleLedger()
    {
        long first, last;
        string? error;
        lock (_lossGate)
        {
            (first, last, error) = (_pendingLostFirst, _pendingLostLast, _pendingLostError);
            _pendingLostLast = -1;
            _pendingLostFirst = 0;
            _pendingLostError = null;
        }
        if (last >= first)
        {
            _ledger.AddLost(first, last, error);
        }
        long dropped = Dropped;
        long recorded = Interlocked.Read(ref _droppedInLedger);
        if (dropped > recorded)
        {
            _ledger.AddDropped(dropped - recorded);
            Interlocked.Exchange(ref _droppedInLedger, dropped);
        }
    }

    private void Recovered()
    {
        DateTimeOffset? since;
        lock (_lossGate)
        {
            since = _failingSince;
            _failingSince = null;
        }
        if (since is not null)
        {
            _logger.LogInformation("telemetry: writes succeed again after failing since {Since}; {Lost} records lost in all", since, LostTotal);
        }
    }

    private void Evict()
    {
        long total = _segments.Sum(s => s.Length);
        // The segment being written is never evicted.
        while (total > _options.MaxTotalBytes && _segments.Count > 1)
        {
            var oldest = _segments[0];
            try
            {
                File.Delete(oldest.Path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _logger.LogWarning(e, "telemetry: could not evict {Segment}", oldest.Path);
                break;
            }
            _segments.RemoveAt(0);
            total -= oldest.Length;
            Interlocked.Increment(ref _evicted);
        }
    }

    private static void DisposeQuietly(Stream? stream)
    {
        try
        {
            stream?.Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            // Disposing flushes; the error was already counted where it first occurred.
        }
    }
}
