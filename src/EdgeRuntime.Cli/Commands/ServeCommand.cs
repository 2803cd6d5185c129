using System.CommandLine;
using System.Runtime.InteropServices;
using EdgeRuntime.Server;
using EdgeRuntime.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeRuntime.Cli.Commands;

/// <summary>
/// `edgert serve`: the daemon in the foreground, until Ctrl+C (then it drains like the service does). It reads the
/// board's sensors (or a simulated tree with --sysfs-root) and lets the governor switch variants.
/// </summary>
internal static class ServeCommand
{
    public static Command Create(CliContext context)
    {
        var bundles = new Argument<string[]>("bundle") { Description = "Bundle directories (or .onnx files) to serve", Arity = ArgumentArity.ZeroOrMore };
        var trustedKeys = new Option<string?>("--trusted-keys") { Description = "Serve only bundles signed by a key in this directory (*.pub, 'revoked' list), at start and on reload" };
        var store = new Option<string?>("--store") { Description = "Bundle store directory: serve the active version of each bundle in it (needs --trusted-keys)" };
        var probation = new Option<double>("--probation-seconds") { Description = "After a store activation, watch live traffic this long before committing", DefaultValueFactory = _ => 300 };
        var socket = new Option<string?>("--socket") { Description = "Unix socket path (default: /run/edgeruntime/edgertd.sock)" };
        var group = new Option<string?>("--group") { Description = "Group given the socket (mode 0660)" };
        var tcp = new Option<int?>("--tcp") { Description = "Also listen on loopback TCP at this port (needs --token)" };
        var token = new Option<string?>("--token") { Description = $"Token TCP clients must send (default: ${DaemonConnection.TokenVariable})" };
        var workers = new Option<int?>("--workers") { Description = "Inference workers (default: one per core)" };
        var queue = new Option<int>("--queue") { Description = "Requests that may wait for a worker before Overloaded", DefaultValueFactory = _ => 64 };
        var verbose = new Option<bool>("--verbose") { Description = "Log every connection and request problem" };
        var board = new Option<string>("--board") { Description = "Board descriptor id (raspberry-pi-4, jetson-orin-nano, ...) or auto to detect it", DefaultValueFactory = _ => ServerOptions.AutoBoard };
        var sysfsRoot = new Option<string>("--sysfs-root") { Description = "Directory that stands for / when reading sensors (a tree from `edgert device simulate`)", DefaultValueFactory = _ => "/" };
        var profile = new Option<string?>("--profile") { Description = "Governor profile file, re-read when it changes (default: the board's built-in profile)" };
        var noGovernor = new Option<bool>("--no-governor") { Description = "Report sensors but never switch variants on the device's account" };
        var telemetry = new Option<string?>("--telemetry") { Description = "Write the device telemetry log (inference summaries, switches, sensors, errors) to this directory" };
        var knobs = new Option<string?>("--knobs") { Description = "Fixed threads and spinning for every request: 1, all or all,spin (default: the governor chooses)" };
        var noArena = new Option<bool>("--no-arena") { Description = "Turn ONNX Runtime's CPU memory arena off (less resident memory between requests, a little more allocation)" };
        var sharedArena = new Option<bool>("--shared-arena") { Description = "One ONNX Runtime CPU memory arena for every session instead of one per session (resident variants share activation memory)" };
        var standby = new Option<bool>("--standby") { Description = "Keep only the serving variant and the next lighter one loaded (a warm standby); others load when switched to" };
        var deviceId = new Option<string?>("--device-id") { Description = "This device's id in telemetry and on MQTT (default: the host name)" };
        var bundleRoot = new Option<string?>("--bundle-root") { Description = "Reloads may only open bundles under this directory (default: the parent of the served bundles)" };
        var allowNonFinite = new Option<string[]>("--allow-non-finite") { Description = "Models (or *) whose inputs may hold NaN or Inf; others refuse them", AllowMultipleArgumentsPerToken = true };
        var mqtt = new MqttCliOptions("", required: false);
        mqtt.Endpoint.Description = "MQTT broker as HOST:PORT: upload the telemetry log and take fitted profiles for this board";
        mqtt.ClientId.DefaultValueFactory = null;
        mqtt.ClientId.Description = "MQTT client id (default: edgertd-<device id>)";
        var command = new Command("serve", "Run the edgertd daemon in the foreground: serve bundles over a Unix socket (and optionally loopback TCP)");
        command.Arguments.Add(bundles);
        command.AddOptions(trustedKeys, store, probation, socket, group, tcp, token, workers, queue, board, sysfsRoot, profile, noGovernor, knobs, noArena, sharedArena, standby, telemetry, deviceId, bundleRoot, allowNonFinite, verbose);
        mqtt.AddTo(command);
        command.SetAction(async (result, cancellation) =>
        {
            var options = new ServerOptions
            {
                Bundles = [.. result.GetValue(bundles)!.Select(Path.GetFullPath)],
                BundleRoot = result.GetValue(bundleRoot) is string root ? Path.GetFullPath(root) : null,
                TrustedKeysDirectory = result.GetValue(trustedKeys) is string keys ? Path.GetFullPath(keys) : null,
                StoreRoot = result.GetValue(store) is string storeRoot ? Path.GetFullPath(storeRoot) : null,
                ProbationSeconds = result.GetValue(probation),
                AllowNonFiniteInputs = [.. result.GetValue(allowNonFinite) ?? []],
                SocketGroup = result.GetValue(group),
                TcpPort = result.GetValue(tcp),
                TcpToken = result.GetValue(token) ?? Environment.GetEnvironmentVariable(DaemonConnection.TokenVariable),
                Workers = result.GetValue(workers),
                QueueCapacity = result.GetValue(queue),
                Board = result.GetValue(board)!,
                SysfsRoot = Path.GetFullPath(result.GetValue(sysfsRoot)!),
                ProfilePath = result.GetValue(profile) is string profilePath ? Path.GetFullPath(profilePath) : null,
                Adaptive = !result.GetValue(noGovernor),
                TelemetryDirectory = result.GetValue(telemetry) is string directory ? Path.GetFullPath(directory) : null,
                DeviceId = result.GetValue(deviceId),
                Knobs = result.GetValue(knobs),
                CpuMemoryArena = !result.GetValue(noArena),
                SharedCpuArena = result.GetValue(sharedArena),
                StandbyOnly = result.GetValue(standby),
                MqttBroker = result.GetValue(mqtt.Endpoint),
                MqttClientId = result.GetValue(mqtt.ClientId) is { Length: > 0 } clientId ? clientId : null,
                MqttTopicPrefix = result.GetValue(mqtt.TopicPrefix)!,
                MqttTls = result.GetValue(mqtt.Tls),
                MqttCaFile = result.GetValue(mqtt.CaFile) is string ca ? Path.GetFullPath(ca) : null,
                MqttUsername = result.GetValue(mqtt.Username),
                MqttPassword = result.GetValue(mqtt.Username) is null ? null : Environment.GetEnvironmentVariable(MqttCliOptions.PasswordVariable),
            };
            if (result.GetValue(socket) is string path)
            {
                options.SocketPath = Path.GetFullPath(path);
            }
            try
            {
                options.ValidateOrThrow();
            }
            catch (ArgumentException e)
            {
                throw new CliError(e.Message);
            }
            using var loggers = LoggerFactory.Create(builder => builder
                .AddSimpleConsole(o => o.SingleLine = true)
                .SetMinimumLevel(result.GetValue(verbose) ? LogLevel.Debug : LogLevel.Information));
            var server = new EdgertdServer(options, TimeProvider.System, loggers);
            await using var service = new EdgertdService(server, Environment.GetEnvironmentVariable, TimeProvider.System, loggers.CreateLogger<EdgertdService>());
            await service.StartAsync(cancellation);
            context.Out.WriteLine($"edgertd serving {string.Join(", ", server.Models)} on {server.SocketPath}" +
                (server.TcpEndPoint is { } endpoint ? $" and tcp {endpoint}" : "") + "; Ctrl+C stops (accepted requests are answered first)");
            // Handle SIGINT and SIGTERM here so the process drains instead of exiting at once.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            void OnSignal(PosixSignalContext signal)
            {
                signal.Cancel = true;
                stop.Cancel();
            }
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
            using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C or SIGTERM.
            }
            context.Out.WriteLine("draining ...");
            await service.StopAsync(CancellationToken.None);
            context.Out.WriteLine("stopped");
            return 0;
        });
        return command;
    }
}
