using System.CommandLine;
using EdgeRuntime.Deployment.Signing;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert keys new|list`: publisher key pairs and a device's trusted keys.</summary>
internal static class KeysCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("keys", "Signing keys for bundles: make a key pair, list a trusted-keys directory");
        command.Subcommands.Add(NewCommand(context));
        command.Subcommands.Add(ListCommand(context));
        return command;
    }

    private static Command NewCommand(CliContext context)
    {
        var output = new Option<string>("--out") { Description = "Directory for NAME.key (private, owner-only) and NAME.pub", Required = true };
        var name = new Option<string>("--name") { Description = "File name of the pair", DefaultValueFactory = _ => "release" };
        var json = CliOutput.Json();
        var command = new Command("new", "Make an ECDSA P-256 key pair; copy NAME.pub into a device's trusted-keys directory, keep NAME.key secret");
        command.AddOptions(output, name, json);
        command.SetAction(result =>
        {
            var keys = SigningKey.Create(result.GetValue(output)!, result.GetValue(name)!);
            context.Write(result.GetValue(json), keys, (writer, k) =>
                writer.WriteLine($"key {k.KeyId}\n  private {k.PrivateKeyPath}\n  public  {k.PublicKeyPath}"));
            return 0;
        });
        return command;
    }

    private static Command ListCommand(CliContext context)
    {
        var directory = new Argument<string>("directory") { Description = "A trusted-keys directory (*.pub and an optional 'revoked' file of key ids)" };
        var json = CliOutput.Json();
        var command = new Command("list", "List the public keys in a directory with their ids, marking revoked ones");
        command.Arguments.Add(directory);
        command.Options.Add(json);
        command.SetAction(result =>
        {
            using var trusted = TrustedKeys.Load(result.GetValue(directory)!);
            var keys = trusted.List();
            context.Write(result.GetValue(json), keys, (writer, list) =>
            {
                writer.WriteLine($"{"key id",-18} {"file",-24} state");
                foreach (var key in list)
                {
                    writer.WriteLine($"{key.KeyId,-18} {key.File,-24} {(key.Revoked ? "revoked" : "trusted")}");
                }
            });
            return 0;
        });
        return command;
    }
}
