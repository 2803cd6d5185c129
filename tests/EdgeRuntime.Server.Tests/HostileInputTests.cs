using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using EdgeRuntime.Client;
using EdgeRuntime.Protocol;
using EdgeRuntime.Protocol.Messages;
using EdgeRuntime.Telemetry;
using MessagePack;

namespace EdgeRuntime.Server.Tests;

/// <summary>What a hostile but fair local client can try against a real daemon on a real Unix socket.</summary>
public sealed class HostileInputTests
{
    [Fact]
    public async Task Idle_connections_are_closed_after_the_idle_timeout_and_free_their_slots()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.MaxConnections = 4;
            o.HandshakeTimeout = TimeSpan.FromMilliseconds(400);
            o.IdleTimeout = TimeSpan.FromMilliseconds(400);
        });
        var silent = Enumerable.Range(0, 4).Select(_ => server.Raw()).ToList();
        foreach (var connection in silent)
        {
            var (code, message, _) = await connection.ReceiveErrorAsync();
            Assert.Equal(ErrorCode.TimedOut, code);
            Assert.Contains("no complete frame within", message);
            Assert.True(await connection.IsClosedByPeerAsync());
            connection.Dispose();
        }
        using var greeted = server.Raw();
        await greeted.AssertUsableAsync();
        var (idleCode, idleMessage, _) = await greeted.ReceiveErrorAsync();
        Assert.Equal(ErrorCode.TimedOut, idleCode);
        Assert.Contains("idle for", idleMessage);
        var status = await server.Client().StatusAsync();
        Assert.True(status.Server.ConnectionsTimedOut >= 5);
    }

    [Fact]
    public async Task A_half_sent_frame_is_cut_off_at_the_body_timeout_while_others_are_served()
    {
        await using var server = await TestServer.StartAsync(o => o.BodyTimeout = TimeSpan.FromMilliseconds(500));
        using var half = server.Raw();
        await half.AssertUsableAsync();
        half.SendBytes([0, 0, 0, 100, 0x94, 1]); // announces 100 bytes, sends 2
        using var partialHeader = server.Raw();
        await partialHeader.AssertUsableAsync();
        partialHeader.SendBytes([0, 0]);
        var status = await server.Client().StatusAsync();
        Assert.True(status.Server.Healthy);
        var (code, message, _) = await half.ReceiveErrorAsync();
        Assert.Equal(ErrorCode.TimedOut, code);
        Assert.Contains("payload was not completed", message);
        Assert.True(await half.IsClosedByPeerAsync());
        var (headerCode, headerMessage, _) = await partialHeader.ReceiveErrorAsync();
        Assert.Equal(ErrorCode.TimedOut, headerCode);
        Assert.Contains("length prefix was not completed", headerMessage);
    }

    [Fact]
    public async Task A_connection_with_work_in_flight_or_a_subscription_is_not_idle()
    {
        await using var server = await TestServer.StartAsync(o => o.IdleTimeout = TimeSpan.FromMilliseconds(300));
        var client = server.Client();
        await using var subscription = await client.SubscribeAsync();
        await Task.Delay(1200);
        var status = await client.StatusAsync();
        Assert.Equal(0, status.Server.ConnectionsTimedOut);
    }

    [Fact]
    public async Task One_process_cannot_take_every_slot_another_process_still_gets_answers()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.MaxConnections = 16;
            o.MaxConnectionsPerUser = 12;
            o.MaxConnectionsPerProcess = 6;
        });
        var held = new List<RawConnection>();
        for (int i = 0; i < 6; i++)
        {
            var connection = server.Raw();
            await connection.AssertUsableAsync();
            held.Add(connection);
        }
        using var refused = server.Raw();
        var (code, message, _) = await refused.ReceiveErrorAsync();
        Assert.Equal(ErrorCode.Overloaded, code);
        Assert.Contains("per process", message);
        // Another process of the same user: answered, because this one only holds its share.
        Assert.Equal("hello", await HelloFromAnotherProcessAsync(server.SocketPath));
        foreach (var connection in held)
        {
            connection.Dispose();
        }
    }

    /// <summary>Sends a hello frame from a python3 child process and says what type of frame came back.</summary>
    private static async Task<string> HelloFromAnotherProcessAsync(string socket)
    {
        const string Script = """
            import socket, struct, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(sys.argv[1])
            s.sendall(bytes([0, 0, 0, 5, 0x94, 1, 1, 7, 0x80]))
            head = b''
            while len(head) < 4:
                head += s.recv(4 - len(head))
            body = b''
            while len(body) < struct.unpack('>I', head)[0]:
                body += s.recv(65536)
            print('hello' if body[2] == 1 else 'type %d' % body[2])
            """;
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Script);
        start.ArgumentList.Add(socket);
        using var process = Process.Start(start)!;
        string output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, await process.StandardError.ReadToEndAsync());
        return output.Trim();
    }

    [Fact]
    public async Task At_the_connection_cap_a_client_hears_overloaded_not_a_disposed_stream()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxConnections = 2);
        using var first = server.Raw();
        using var second = server.Raw();
        await first.AssertUsableAsync();
        await second.AssertUsableAsync();
        for (int attempt = 0; attempt < 5; attempt++)
        {
            await using var client = new EdgertClient(new EdgertClientOptions { SocketPath = server.SocketPath, MaxConnectAttempts = 1 });
            var error = await Assert.ThrowsAnyAsync<EdgertException>(() => client.StatusAsync());
            Assert.Equal(ErrorCode.Overloaded, error.Code);
            Assert.Contains("already serves 2 connections", error.Message);
            Assert.DoesNotContain("disposed", error.Message);
        }
    }

    [Fact]
    public async Task A_regular_file_at_the_socket_path_is_refused_and_kept()
    {
        using var directory = new TestDirectory();
        string file = directory["reg.txt"];
        await File.WriteAllTextAsync(file, "important\n");
        var error = await Assert.ThrowsAsync<IOException>(() => TestServer.StartAsync(o => o.SocketPath = file, directory: directory));
        Assert.Contains("is not a socket", error.Message);
        Assert.Equal("important\n", await File.ReadAllTextAsync(file));
    }

    [Fact]
    public async Task A_directory_at_the_socket_path_is_a_clear_error()
    {
        using var directory = new TestDirectory();
        Directory.CreateDirectory(directory["sockdir"]);
        var error = await Assert.ThrowsAsync<IOException>(() => TestServer.StartAsync(o => o.SocketPath = directory["sockdir"], directory: directory));
        Assert.Contains("is a directory", error.Message);
    }

    [Fact]
    public async Task A_stale_socket_is_still_replaced()
    {
        using var directory = new TestDirectory();
        string path = directory["stale.sock"];
        using (var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            stale.Bind(new UnixDomainSocketEndPoint(path));
        }
        await using var server = await TestServer.StartAsync(o => o.SocketPath = path, directory: directory);
        await server.Client().PingAsync();
    }

    [Fact]
    public async Task Invalid_timeouts_and_shares_are_refused_at_start()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => TestServer.StartAsync(o =>
        {
            o.HeaderTimeout = TimeSpan.Zero;
            o.MaxConnectionsPerProcess = 100;
            o.MaxConnectionsPerUser = 10;
        }));
        Assert.Contains("HeaderTimeout", error.Message);
        Assert.Contains("MaxConnectionsPerProcess", error.Message);
    }

    [Fact]
    public async Task Status_shows_why_a_variant_is_unavailable()
    {
        using var directory = new TestDirectory();
        string bundle = TestBundles.FashionPair(directory["damaged"]);
        await File.WriteAllBytesAsync(Path.Combine(bundle, "b.onnx"), new byte[1000]);
        await using var server = await TestServer.StartAsync(o => o.Bundles = [bundle], directory: directory);
        var status = await server.Client().StatusAsync();
        var b = status.Models[0].Variants.Single(v => v.Id == "b");
        Assert.True(b.State == "unavailable", $"state {b.State}, reason {b.UnavailableReason}");
        Assert.Contains("1000", b.UnavailableReason);
    }

    [Fact]
    public async Task Reloads_are_confined_to_the_bundle_root_and_errors_do_not_quote_files()
    {
        using var directory = new TestDirectory();
        await using var server = await TestServer.StartAsync(directory: directory);
        var client = server.Client();
        string outside = Path.Combine(Path.GetTempPath(), "edgert-outside-" + Guid.NewGuid().ToString("N")[..8]);
        TestBundles.FashionPair(outside);
        try
        {
            var refused = await Assert.ThrowsAsync<EdgertException>(() => client.ReloadAsync(outside));
            Assert.Equal(ErrorCode.ReloadFailed, refused.Code);
            Assert.Contains("outside the bundle root", refused.Message);
            var escape = await Assert.ThrowsAsync<EdgertException>(() => client.ReloadAsync("../../" + Path.GetFileName(outside)));
            Assert.Contains("outside the bundle root", escape.Message);
            // A directory link inside the root that leads out of it, with the bundle below it.
            Directory.CreateSymbolicLink(directory["link"], Path.GetDirectoryName(outside)!);
            var linked = await Assert.ThrowsAsync<EdgertException>(() => client.ReloadAsync(Path.Combine(directory["link"], Path.GetFileName(outside))));
            Assert.Contains("outside the bundle root", linked.Message);
        }
        finally
        {
            if (new DirectoryInfo(directory["link"]).LinkTarget is not null)
            {
                Directory.Delete(directory["link"]); // the link only, never what it points at
            }
            Directory.Delete(outside, recursive: true);
        }
        // A sibling inside the root whose manifest is secret text: refused without quoting it.
        string sibling = directory["other"];
        Directory.CreateDirectory(sibling);
        await File.WriteAllTextAsync(Path.Combine(sibling, "manifest.json"), "tRUEsecret");
        var bundleError = await Assert.ThrowsAsync<EdgertException>(() => client.ReloadAsync(sibling));
        Assert.DoesNotContain("tRUEsecret", bundleError.Message);
        string profile = directory["secret.json"];
        await File.WriteAllTextAsync(profile, "tRUEsecret");
        var raw = server.Raw();
        raw.Send(MessageType.Reload, 5, new ReloadRequest { Kind = "profile", Path = profile });
        var (code, message, _) = await raw.ReceiveErrorAsync();
        Assert.Equal(ErrorCode.ReloadFailed, code);
        Assert.Contains("not valid JSON", message);
        Assert.DoesNotContain("tRUE", message);
        raw.Dispose();
    }

    [Fact]
    public async Task A_deadline_beyond_its_range_is_named_not_an_overflow()
    {
        await using var server = await TestServer.StartAsync();
        using var raw = server.Raw();
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(4);
        writer.Write(1);
        writer.Write((int)MessageType.Infer);
        writer.Write(3u);
        writer.WriteMapHeader(1);
        writer.Write("deadline_ms");
        writer.Write(ulong.MaxValue);
        writer.Flush();
        raw.SendPayload(buffer.WrittenSpan);
        var (code, message, id) = await raw.ReceiveErrorAsync();
        Assert.Equal(ErrorCode.InvalidRequest, code);
        Assert.Equal(3u, id);
        Assert.Contains("'deadline_ms' is 18446744073709551615", message);
        Assert.DoesNotContain("Arithmetic", message);
    }

    [Fact]
    public async Task NaN_and_Inf_inputs_are_refused_by_default_and_pass_when_allowed()
    {
        await using var server = await TestServer.StartAsync();
        var client = server.Client();
        var pixels = TestBundles.Image(3);
        pixels[17] = float.NaN;
        pixels[40] = float.PositiveInfinity;
        var input = WireTensor.FromArray("input", pixels, 1, 1, 28, 28);
        var refused = await Assert.ThrowsAsync<EdgertException>(() => client.InferAsync(input));
        Assert.Equal(ErrorCode.InvalidInput, refused.Code);
        Assert.Contains("input 'input' holds NaN at index 17", refused.Message);
        var allowed = await client.InferAsync(input, new InferOptions { AllowNonFinite = true });
        Assert.NotEmpty(allowed.Outputs);

        await using var permissive = await TestServer.StartAsync(o => o.AllowNonFiniteInputs = ["fashion-cnn"]);
        Assert.NotEmpty((await permissive.Client().InferAsync(input)).Outputs);
    }

    [Fact]
    public async Task A_disk_full_episode_shows_as_degraded_with_the_exact_loss_and_verify_names_the_gap()
    {
        using var directory = new TestDirectory();
        var disk = new FaultyDisk();
        string log = directory["telemetry"];
        var server = new EdgertdServer(new ServerOptions
        {
            RuntimeDirectory = directory["run"],
            Bundles = [TestBundles.FashionPair(directory["bundle"])],
            Workers = 1,
            SysfsRoot = TestServer.EmptyTree(directory),
            TelemetryDirectory = log,
            TelemetryIntervalSeconds = 3600,
        })
        { TelemetryStorage = (disk.Create, TimeSpan.Zero) };
        await server.StartAsync();
        var telemetry = server.Telemetry!.Log;
        Write(telemetry, 10);
        Assert.True(await telemetry.FlushAsync());
        disk.Full = true;
        Write(telemetry, 414);
        Assert.False(await telemetry.FlushAsync());
        await using (var client = new EdgertClient(new EdgertClientOptions { SocketPath = server.SocketPath }))
        {
            var during = (await client.StatusAsync()).Telemetry!;
            Assert.Equal("degraded", during.State);
            Assert.Equal(414, during.LostRecords);
            Assert.NotNull(during.FailingSinceUnixMs);
            Assert.Contains("No space left", during.LastError);
            disk.Full = false;
            Write(telemetry, 5);
            Assert.True(await telemetry.FlushAsync());
            var after = (await client.StatusAsync()).Telemetry!;
            Assert.Equal("degraded", after.State);
            Assert.Equal(414, after.LostRecords);
            Assert.Null(after.FailingSinceUnixMs);
            // The next interval puts the loss into the log itself, which is what the uplink sends to the fleet.
            server.Telemetry!.Sample();
            Assert.True(await telemetry.FlushAsync());
        }
        await server.DisposeAsync();
        // No empty segment per failed batch.
        Assert.All(SegmentFiles.List(log), s => Assert.True(new FileInfo(s.Path).Length > 0, $"{s.Path} is empty"));
        var records = new List<TelemetryRecord>();
        var report = TelemetryLogReader.ReadDirectory(log, records.Add);
        Assert.Contains(records, r => r.Sensor is { Name: "telemetry/lost_records", Value: 414 });
        Assert.Contains(records, r => r.Error is { Source: "telemetry" } e && e.Message.Contains("414 record(s) lost"));
        Assert.False(report.Clean);
        Assert.Equal(414, report.MissingRecords);
        Assert.Equal(new SequenceRange(11, 424), Assert.Single(report.MissingRanges));
        // The count survives a restart.
        await using var reopened = TelemetryLog.Open(new TelemetryLogOptions { Directory = log });
        Assert.Equal(414, reopened.LostTotal);
        Assert.True(reopened.LastSequence >= 429);
    }

    private static void Write(TelemetryLog log, int count)
    {
        for (int i = 0; i < count; i++)
        {
            Assert.True(log.TryWrite(TelemetryRecord.For(new SensorSample { Name = "test/value", Value = i, Unit = "" })));
        }
    }
}
