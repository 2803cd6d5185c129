using System.CommandLine;
using EdgeRuntime.Uplink;

namespace EdgeRuntime.Cli.Commands;

/// <summary>The broker options fleet commands share; the password comes from the environment, never the command line.</summary>
internal sealed class MqttCliOptions
{
    public const string PasswordVariable = "EDGERT_MQTT_PASSWORD";

    public Option<string?> Endpoint { get; }
    public Option<string> ClientId { get; }
    public Option<string> TopicPrefix { get; } = new("--topic-prefix") { Description = "First level of every topic", DefaultValueFactory = _ => UplinkTopics.DefaultPrefix };
    public Option<bool> Tls { get; } = new("--tls") { Description = "Connect with TLS" };
    public Option<string?> CaFile { get; } = new("--ca") { Description = "PEM file of the CA that signed the broker's certificate (default: the system trust store)" };
    public Option<string?> Username { get; } = new("--username") { Description = $"User name; the password is read from ${PasswordVariable}" };

    public MqttCliOptions(string defaultClientId, bool required)
    {
        Endpoint = new Option<string?>("--mqtt") { Description = "MQTT broker as HOST:PORT", Required = required };
        ClientId = new Option<string>("--client-id") { Description = "MQTT client id (names the broker-side session)", DefaultValueFactory = _ => defaultClientId };
    }

    public void AddTo(Command command)
    {
        command.AddOptions(Endpoint, ClientId, TopicPrefix, Tls, CaFile, Username);
    }

    /// <summary>The broker settings, checked; null when --mqtt was not given.</summary>
    public MqttBrokerOptions? Build(ParseResult result)
    {
        if (result.GetValue(Endpoint) is not string endpoint)
        {
            return null;
        }
        try
        {
            var (host, port) = MqttBrokerOptions.ParseEndpoint(endpoint);
            var options = new MqttBrokerOptions
            {
                Host = host,
                Port = port,
                ClientId = result.GetValue(ClientId)!,
                UseTls = result.GetValue(Tls),
                CaFile = result.GetValue(CaFile),
                Username = result.GetValue(Username),
                Password = result.GetValue(Username) is null ? null : Environment.GetEnvironmentVariable(PasswordVariable),
                BackoffMin = TimeSpan.FromMilliseconds(250),
                BackoffMax = TimeSpan.FromSeconds(10),
            };
            options.Validate();
            if (UplinkTopics.PrefixProblem(result.GetValue(TopicPrefix)) is string problem)
            {
                throw new ArgumentException(problem);
            }
            return options;
        }
        catch (ArgumentException e)
        {
            throw new CliError(e.Message);
        }
    }
}
