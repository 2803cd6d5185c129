using System.CommandLine;
using EdgeRuntime.Client;

namespace EdgeRuntime.Cli.Commands;

/// <summary>The options every command that talks to a running daemon takes: where it is, and the TCP token.</summary>
internal sealed class DaemonConnection
{
    public const string TokenVariable = "EDGERT_TOKEN";

    public Option<string> Socket { get; } = new("--socket") { Description = "The daemon's Unix socket", DefaultValueFactory = _ => EdgertClientOptions.DefaultSocketPath };
    public Option<int?> Tcp { get; } = new("--tcp") { Description = "Reach the daemon on this loopback TCP port instead" };
    public Option<string?> Token { get; } = new("--token") { Description = $"Token for TCP (default: ${TokenVariable})" };

    public void AddTo(Command command)
    {
        command.Options.Add(Socket);
        command.Options.Add(Tcp);
        command.Options.Add(Token);
    }

    public EdgertClient CreateClient(ParseResult result)
    {
        int? port = result.GetValue(Tcp);
        string? token = result.GetValue(Token) ?? Environment.GetEnvironmentVariable(TokenVariable);
        if (port is not null && string.IsNullOrEmpty(token))
        {
            throw new CliError($"--tcp needs --token or ${TokenVariable}");
        }
        return new EdgertClient(new EdgertClientOptions
        {
            SocketPath = result.GetValue(Socket)!,
            TcpPort = port,
            Token = token,
            ClientName = "edgert",
            MaxConnectAttempts = 2,
            InitialBackoff = TimeSpan.FromMilliseconds(100),
        });
    }
}
