using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Channels;
using EdgeRuntime.Bundles;
using EdgeRuntime.Deployment;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Packets;

namespace EdgeRuntime.Uplink.Deployment;

/// <summary>How the device fetches archive chunks.</summary>
public sealed record DownloadOptions
{
    /// <summary>Chunks asked for at once (one retained-topic subscription each): bounds memory and the burst on a slow link.</summary>
    public int Window { get; init; } = 8;
    /// <summary>No chunk for this long: the window's subscriptions are made again (the broker re-sends retained chunks).</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>A chunk whose bytes do not match its hash is asked for again this many times before the download is refused.</summary>
    public int ChunkRetries { get; init; } = 3;
    public long MaxArchiveBytes { get; init; } = 4L << 30;

    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (Window is < 1 or > 256)
        {
            problems.Add($"download window {Window} is not in 1-256");
        }
        if (StallTimeout <= TimeSpan.Zero)
        {
            problems.Add($"stall timeout {StallTimeout} must be positive");
        }
        if (ChunkRetries is < 0 or > 100)
        {
            problems.Add($"chunk retries {ChunkRetries} is not in 0-100");
        }
        if (MaxArchiveBytes <= 0)
        {
            problems.Add($"max archive bytes {MaxArchiveBytes} must be positive");
        }
        return problems;
    }
}

/// <param name="Path">The complete archive, its SHA-256 checked against the desired state.</param>
/// <param name="ChunksFetched">Chunks received in this call.</param>
/// <param name="ChunksResumed">Chunks a previous, interrupted call had already stored.</param>
public sealed record DownloadedArchive(string Path, DesiredBundle Desired, int ChunksFetched, int ChunksResumed, TimeSpan Elapsed);

/// <summary>
/// Fetches a bundle archive from its retained chunk topics into a staging file. Each chunk is checked against its
/// own SHA-256 before it is written at its offset; the set of chunks stored is kept in a cursor file (written
/// after the staging file is synced), so a restart asks only for the chunks still missing. The whole archive is
/// then checked against the desired state's SHA-256 and renamed to its final name.
/// </summary>
public sealed class BundleDownloader
{
    private readonly MqttSession _session;
    private readonly string _prefix;
    private readonly string _directory;
    private readonly DownloadOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public BundleDownloader(MqttSession session, string topicPrefix, string directory, DownloadOptions? options = null, TimeProvider? time = null, ILogger? logger = null)
    {
        _session = session;
        _prefix = topicPrefix;
        _directory = directory;
        _options = options ?? new DownloadOptions();
        if (_options.Problems() is { Count: > 0 } problems)
        {
            throw new ArgumentException($"invalid download options: {string.Join("; ", problems)}");
        }
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    public string ArchivePath(DesiredBundle desired) => Path.Combine(_directory, $"{desired.Bundle}-{desired.Sha256}.archive");

    private string PartPath(DesiredBundle desired) => Path.Combine(_directory, $"{desired.Bundle}-{desired.Sha256}.part");

    private string CursorPath(DesiredBundle desired) => Path.Combine(_directory, $"{desired.Bundle}-{desired.Sha256}.cursor");

    /// <summary>Chunks of <paramref name="desired"/> already stored by earlier, interrupted downloads.</summary>
    public int StoredChunks(DesiredBundle desired) => File.Exists(ArchivePath(desired)) ? desired.ChunkCount ?? 0 : LoadCursor(desired)?.Cast<bool>().Count(b => b) ?? 0;

    /// <summary>Removes every staged file but those of <paramref name="keep"/>: one download at a time holds space.</summary>
    public void DiscardAllExcept(DesiredBundle? keep)
    {
        if (!Directory.Exists(_directory))
        {
            return;
        }
        string? kept = keep?.Sha256 is null ? null : $"{keep.Bundle}-{keep.Sha256}.";
        foreach (string file in Directory.EnumerateFiles(_directory))
        {
            string name = Path.GetFileName(file);
            if ((name.EndsWith(".part", StringComparison.Ordinal) || name.EndsWith(".cursor", StringComparison.Ordinal) || name.EndsWith(".archive", StringComparison.Ordinal))
                && (kept is null || !name.StartsWith(kept, StringComparison.Ordinal)))
            {
                File.Delete(file);
            }
        }
    }

    /// <exception cref="DeploymentRefusedException">The archive's bytes do not match its hash (a chunk, again and again, or the whole).</exception>
    /// <exception cref="IOException">Staging storage failed (a full disk).</exception>
    public async Task<DownloadedArchive> DownloadAsync(DesiredBundle desired, Action<int, int>? progress, CancellationToken cancellationToken)
    {
        if (!desired.HasArchive)
        {
            throw new ArgumentException($"desired bundle {desired} carries no archive to download");
        }
        if (desired.SizeBytes > _options.MaxArchiveBytes)
        {
            throw new DeploymentRefusedException(DeploymentRefusal.StorageFailed,
                $"{desired}: the archive is {desired.SizeBytes} bytes; this device takes at most {_options.MaxArchiveBytes}");
        }
        Directory.CreateDirectory(_directory);
        long started = _time.GetTimestamp();
        string archive = ArchivePath(desired);
        if (File.Exists(archive))
        {
            // Verified before it got this name; checked again in case the disk changed it since.
            if (HashOf(archive) == desired.Sha256)
            {
                return new DownloadedArchive(archive, desired, 0, desired.ChunkCount!.Value, _time.GetElapsedTime(started));
            }
            File.Delete(archive);
        }
        int count = desired.ChunkCount!.Value;
        var received = LoadCursor(desired) ?? new BitArray(count);
        int resumed = received.Cast<bool>().Count(b => b);
        string part = PartPath(desired);
        if (resumed == 0 || !File.Exists(part) || new FileInfo(part).Length != desired.SizeBytes)
        {
            received = new BitArray(count);
            resumed = 0;
        }
        int fetched = 0;
        using (var handle = File.OpenHandle(part, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            if (RandomAccess.GetLength(handle) != desired.SizeBytes)
            {
                RandomAccess.SetLength(handle, desired.SizeBytes!.Value);
            }
            if (resumed > 0)
            {
                _logger.LogInformation("Resuming download of {Bundle}: {Stored} of {Count} chunks already stored", desired, resumed, count);
            }
            try
            {
                fetched = await FetchMissingAsync(desired, handle, received, resumed, progress, cancellationToken).ConfigureAwait(false);
            }
            catch (DeploymentRefusedException)
            {
                // Refused for good: the staged bytes are of no further use.
                handle.Dispose();
                File.Delete(part);
                File.Delete(CursorPath(desired));
                throw;
            }
        }
        string hash = HashOf(part);
        if (hash != desired.Sha256)
        {
            File.Delete(part);
            File.Delete(CursorPath(desired));
            throw new DeploymentRefusedException(DeploymentRefusal.HashMismatch,
                $"{desired.Bundle} {desired.Version}: the downloaded archive's sha256 is {hash}, the desired state says {desired.Sha256}");
        }
        File.Move(part, archive, overwrite: true);
        File.Delete(CursorPath(desired));
        AtomicFile.SyncDirectory(_directory);
        return new DownloadedArchive(archive, desired, fetched, resumed, _time.GetElapsedTime(started));
    }

    private async Task<int> FetchMissingAsync(DesiredBundle desired, Microsoft.Win32.SafeHandles.SafeFileHandle handle, BitArray received, int stored,
        Action<int, int>? progress, CancellationToken cancellationToken)
    {
        int count = desired.ChunkCount!.Value;
        string topicHead = UplinkTopics.BundleChunk(_prefix, desired.Bundle, desired.Sha256!, 0)[..^1];
        var inbox = Channel.CreateUnbounded<MqttApplicationMessage>(new UnboundedChannelOptions { SingleReader = true });
        Task OnMessage(MqttApplicationMessageReceivedEventArgs e)
        {
            if (e.ApplicationMessage.Topic.StartsWith(topicHead, StringComparison.Ordinal))
            {
                inbox.Writer.TryWrite(e.ApplicationMessage);
            }
            return Task.CompletedTask;
        }
        var missing = new Queue<int>(Enumerable.Range(0, count).Where(i => !received[i]));
        var asked = new HashSet<int>();
        var corrupt = new Dictionary<int, int>();
        int fetched = 0;
        _session.MessageReceived += OnMessage;
        try
        {
            async Task AskMoreAsync()
            {
                while (asked.Count < _options.Window && missing.TryDequeue(out int next))
                {
                    asked.Add(next);
                    await _session.SubscribeAsync(topicHead + next.ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
                }
            }

            async Task AskAgainAsync(int index)
            {
                string topic = topicHead + index.ToString(CultureInfo.InvariantCulture);
                await _session.UnsubscribeAsync(topic, cancellationToken).ConfigureAwait(false);
                await _session.SubscribeAsync(topic, cancellationToken).ConfigureAwait(false);
            }

            await AskMoreAsync().ConfigureAwait(false);
            progress?.Invoke(stored, count);
            while (stored < count)
            {
                MqttApplicationMessage message;
                using (var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    stall.CancelAfter(_options.StallTimeout);
                    try
                    {
                        message = await inbox.Reader.ReadAsync(stall.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        // Offline, or the subscriptions went with a lost session: ask again and keep waiting.
                        _logger.LogWarning("No chunk of {Bundle} for {Seconds:F0} s ({Stored} of {Count} stored); asking again", desired, _options.StallTimeout.TotalSeconds, stored, count);
                        foreach (int index in asked)
                        {
                            await AskAgainAsync(index).ConfigureAwait(false);
                        }
                        continue;
                    }
                }
                if (!int.TryParse(message.Topic.AsSpan(topicHead.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int chunk) || chunk >= count || received[chunk])
                {
                    continue; // A redelivery, or a chunk of an earlier attempt.
                }
                byte[] payload = message.Payload.ToArray();
                string? carried = message.UserProperties?.FirstOrDefault(p => p.Name == ProfileMessage.HashProperty)?.ReadValueAsString();
                string hash = ProfileMessage.Hash(payload);
                int expected = desired.ChunkLength(chunk);
                if (payload.Length != expected || !string.Equals(carried, hash, StringComparison.OrdinalIgnoreCase))
                {
                    int tries = corrupt[chunk] = corrupt.GetValueOrDefault(chunk) + 1;
                    string what = payload.Length != expected ? $"{payload.Length} bytes, expected {expected}" : $"sha256 {hash}, the message says {carried ?? "(nothing)"}";
                    if (tries > _options.ChunkRetries)
                    {
                        throw new DeploymentRefusedException(DeploymentRefusal.HashMismatch,
                            $"{desired.Bundle} {desired.Version}: chunk {chunk} of {count} is damaged ({what}) after {tries} tries");
                    }
                    _logger.LogWarning("Chunk {Chunk} of {Bundle} damaged ({What}); asking again", chunk, desired, what);
                    await AskAgainAsync(chunk).ConfigureAwait(false);
                    continue;
                }
                RandomAccess.Write(handle, payload, (long)chunk * desired.ChunkSize!.Value);
                received[chunk] = true;
                stored++;
                fetched++;
                // The bytes reach the disk before the cursor says they are there.
                RandomAccess.FlushToDisk(handle);
                SaveCursor(desired, received);
                asked.Remove(chunk);
                await _session.UnsubscribeAsync(message.Topic, cancellationToken).ConfigureAwait(false);
                await AskMoreAsync().ConfigureAwait(false);
                progress?.Invoke(stored, count);
            }
        }
        finally
        {
            _session.MessageReceived -= OnMessage;
            foreach (int index in asked)
            {
                await _session.UnsubscribeAsync(topicHead + index.ToString(CultureInfo.InvariantCulture), CancellationToken.None).ConfigureAwait(false);
            }
        }
        return fetched;
    }

    private sealed record StoredCursor(int FormatVersion, string Sha256, long SizeBytes, int ChunkSize, int ChunkCount, string Received);

    private void SaveCursor(DesiredBundle desired, BitArray received)
    {
        byte[] bits = new byte[(received.Length + 7) / 8];
        received.CopyTo(bits, 0);
        var cursor = new StoredCursor(1, desired.Sha256!, desired.SizeBytes!.Value, desired.ChunkSize!.Value, desired.ChunkCount!.Value, Convert.ToBase64String(bits));
        AtomicFile.Write(CursorPath(desired), stream => JsonSerializer.Serialize(stream, cursor));
    }

    /// <summary>The chunks stored so far, or null when there is no cursor for this archive (or an unreadable one: starting over only costs time).</summary>
    private BitArray? LoadCursor(DesiredBundle desired)
    {
        string path = CursorPath(desired);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            var cursor = JsonSerializer.Deserialize<StoredCursor>(File.ReadAllBytes(path));
            if (cursor is not { FormatVersion: 1 } || cursor.Sha256 != desired.Sha256 || cursor.SizeBytes != desired.SizeBytes
                || cursor.ChunkSize != desired.ChunkSize || cursor.ChunkCount != desired.ChunkCount)
            {
                return null;
            }
            byte[] bits = Convert.FromBase64String(cursor.Received);
            if (bits.Length != (cursor.ChunkCount + 7) / 8)
            {
                return null;
            }
            return new BitArray(bits) { Length = cursor.ChunkCount };
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            _logger.LogWarning("Download cursor {Path} is unreadable ({Reason}); starting the download over", path, e.Message);
            return null;
        }
    }

    private static string HashOf(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
