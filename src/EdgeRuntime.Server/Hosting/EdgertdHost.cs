using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EdgeRuntime.Server.Hosting;

/// <summary>Builds the edgertd host: configuration, validated options, logging, the service.</summary>
public static class EdgertdHost
{
    /// <summary>Settings file read when present; EDGERTD_CONFIG names another.</summary>
    public const string DefaultConfigPath = "/etc/edgeruntime/edgertd.json";

    private static readonly Dictionary<string, string> Switches = new()
    {
        ["--socket"] = $"{ServerOptions.SectionName}:{nameof(ServerOptions.SocketPath)}",
        ["--group"] = $"{ServerOptions.SectionName}:{nameof(ServerOptions.SocketGroup)}",
        ["--tcp-port"] = $"{ServerOptions.SectionName}:{nameof(ServerOptions.TcpPort)}",
        ["--workers"] = $"{ServerOptions.SectionName}:{nameof(ServerOptions.Workers)}",
        ["--queue"] = $"{ServerOptions.SectionName}:{nameof(ServerOptions.QueueCapacity)}",
        ["--bundle-root"] = $"{ServerOptions.SectionName}:{nameof(ServerOptions.BundleRoot)}",
        ["--runtime-dir"] = $"{ServerOptions.SectionName}:{nameof(ServerOptions.RuntimeDirectory)}",
        ["--board"] = $"{ServerOptions.SectionName}:{nameof(ServerOptions.Board)}",
        ["--sysfs-root"] = $"{ServerOptions.SectionName}:{nameof(ServerOptions.SysfsRoot)}",
        ["--profile"] = $"{ServerOptions.SectionName}:{nameof(ServerOptions.ProfilePath)}",
        ["--adaptive"] = $"{ServerOptions.SectionName}:{nameof(ServerOptions.Adaptive)}",
        ["--telemetry"] = $"{ServerOptions.SectionName}:{nameof(ServerOptions.TelemetryDirectory)}",
        ["--device-id"] = $"{ServerOptions.SectionName}:{nameof(ServerOptions.DeviceId)}",
        ["--mqtt"] = $"{ServerOptions.SectionName}:{nameof(ServerOptions.MqttBroker)}",
        ["--idle-timeout"] = $"{ServerOptions.SectionName}:{nameof(ServerOptions.IdleTimeout)}",
        ["--handshake-timeout"] = $"{ServerOptions.SectionName}:{nameof(ServerOptions.HandshakeTimeout)}",
        ["--header-timeout"] = $"{ServerOptions.SectionName}:{nameof(ServerOptions.HeaderTimeout)}",
        ["--body-timeout"] = $"{ServerOptions.SectionName}:{nameof(ServerOptions.BodyTimeout)}",
        ["--max-connections-per-user"] = $"{ServerOptions.SectionName}:{nameof(ServerOptions.MaxConnectionsPerUser)}",
        ["--max-connections-per-process"] = $"{ServerOptions.SectionName}:{nameof(ServerOptions.MaxConnectionsPerProcess)}",
    };

    /// <summary>
    /// `edgertd [--socket PATH] [--group G] [--tcp-port N] [--workers N] [--queue N] [--board ID|auto] [--sysfs-root DIR]
    /// [--profile FILE] [--adaptive true|false] [--telemetry DIR] [--device-id ID] [--mqtt HOST:PORT] [--bundle PATH]...`;
    /// the TCP token and the MQTT password come from the environment (Edgertd__TcpToken, Edgertd__MqttPassword) or the
    /// settings file, never the command line.
    /// </summary>
    public static IHost Build(string[] args, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var (bundles, rest) = SplitBundles(args);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = false });
        builder.Configuration.AddJsonFile(environment("EDGERTD_CONFIG") ?? DefaultConfigPath, optional: true, reloadOnChange: false);
        builder.Configuration.AddCommandLine(rest, Switches);
        builder.Configuration.AddInMemoryCollection(bundles.Select((b, i) =>
            new KeyValuePair<string, string?>($"{ServerOptions.SectionName}:{nameof(ServerOptions.Bundles)}:{i}", b)));
        AddEdgertd(builder.Services, builder.Configuration.GetSection(ServerOptions.SectionName));
        return builder.Build();
    }

    public static IServiceCollection AddEdgertd(IServiceCollection services, IConfiguration section)
    {
        services.AddOptions<ServerOptions>().Bind(section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<ServerOptions>, ServerOptionsValidator>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<EdgertdService>();
        services.AddHostedService(provider => provider.GetRequiredService<EdgertdService>());
        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        return services;
    }

    private static (List<string> Bundles, string[] Others) SplitBundles(string[] args)
    {
        var bundles = new List<string>();
        var rest = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--bundle" && i + 1 < args.Length)
            {
                bundles.Add(args[++i]);
            }
            else
            {
                rest.Add(args[i]);
            }
        }
        return (bundles, [.. rest]);
    }

    /// <summary>Runs the cross-field checks of <see cref="ServerOptions.Validate"/> under the options system.</summary>
    private sealed class ServerOptionsValidator : IValidateOptions<ServerOptions>
    {
        public ValidateOptionsResult Validate(string? name, ServerOptions options)
        {
            try
            {
                options.ValidateOrThrow();
                return ValidateOptionsResult.Success;
            }
            catch (ArgumentException e)
            {
                return ValidateOptionsResult.Fail(e.Message);
            }
        }
    }
}
