using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using EdgeRuntime.Bench.Deployment;
using EdgeRuntime.Deployment;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert deploy`: a device's bundle store by hand (install, activate, probation, rollback, status) and its crash benchmark.</summary>
internal static class DeployCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("deploy", "A device's bundle store: install signed archives, activate, probation, rollback, status; crash-bench");
        command.Subcommands.Add(StatusCommand(context));
        command.Subcommands.Add(InstallCommand(context));
        command.Subcommands.Add(RollbackCommand(context));
        command.Subcommands.Add(CrashBenchCommand(context));
        command.Subcommands.Add(CrashChildCommand());
        return command;
    }

    private sealed class StoreOptions
    {
        public Argument<string> Root { get; } = new("root") { Description = "Store directory (e.g. /var/lib/edgeruntime)" };
        public Option<string> TrustedKeys { get; } = new("--trusted-keys") { Description = "Directory of trusted *.pub keys and the 'revoked' list", Required = true };

        public void AddTo(Command command)
        {
            command.Arguments.Add(Root);
            command.Options.Add(TrustedKeys);
        }

        /// <param name="probation">Null: the defaults, whose traffic period matters only where a serving side reports traffic.</param>
        public BundleStore Open(ParseResult result, ProbationOptions? probation = null) =>
            new(new BundleStoreOptions { Root = result.GetValue(Root)!, TrustedKeysDirectory = result.GetValue(TrustedKeys)!, Probation = probation ?? new ProbationOptions() });
    }

    private static Command StatusCommand(CliContext context)
    {
        var store = new StoreOptions();
        var json = CliOutput.Json();
        var command = new Command("status", "Each bundle name in the store: active and previous version, phase, last failure, installed versions");
        store.AddTo(command);
        command.Options.Add(json);
        command.SetAction(result =>
        {
            using var opened = store.Open(result);
            context.Write(result.GetValue(json), opened.Status(), (writer, r) => r.WriteText(writer));
            return 0;
        });
        return command;
    }

    private static Command InstallCommand(CliContext context)
    {
        var store = new StoreOptions();
        var archive = new Argument<FileInfo>("archive") { Description = "Signed bundle archive (`edgert bundle pack`)" };
        var name = new Option<string>("--name") { Description = "Bundle name", Required = true };
        var version = new Option<string>("--version") { Description = "Version the archive must hold", Required = true };
        var activate = new Option<bool>("--activate") { Description = "Activate it and run probation (reference checks, latency against the replaced version)" };
        var maxRatio = new Option<double>("--max-latency-ratio") { Description = "Probation fails when the new version's median latency exceeds the replaced one's by this factor", DefaultValueFactory = _ => 1.3 };
        var json = CliOutput.Json();
        var command = new Command("install", "Verify and install a signed archive beside the active version; with --activate, activate it and keep it only if probation passes");
        store.AddTo(command);
        command.Arguments.Add(archive);
        command.AddOptions(name, version, activate, maxRatio, json);
        command.SetAction(async (result, cancellation) =>
        {
            // No traffic reaches a store opened from the command line, so there is no period to watch it over.
            using var opened = store.Open(result, new ProbationOptions { Period = TimeSpan.Zero, MaxLatencyRatio = result.GetValue(maxRatio) });
            var outcome = await opened.DeployAsync(result.GetValue(name)!, result.GetValue(version)!, result.GetValue(archive)!.FullName, result.GetValue(activate), cancellation);
            context.Write(result.GetValue(json), outcome, (writer, r) => r.WriteText(writer));
            return outcome.Verdict is { Passed: false } ? 1 : 0;
        });
        return command;
    }

    private static Command RollbackCommand(CliContext context)
    {
        var store = new StoreOptions();
        var name = new Option<string>("--name") { Description = "Bundle name", Required = true };
        var reason = new Option<string>("--reason") { Description = "Why, kept as the last failure", DefaultValueFactory = _ => "rolled back by an operator" };
        var json = CliOutput.Json();
        var command = new Command("rollback", "Activate the previous version again");
        store.AddTo(command);
        command.AddOptions(name, reason, json);
        command.SetAction(async (result, cancellation) =>
        {
            using var opened = store.Open(result);
            var state = await opened.RollbackAsync(result.GetValue(name)!, result.GetValue(reason)!, cancellation);
            context.Write(result.GetValue(json), state, (writer, s) => writer.WriteLine($"'{s.BundleName}' active {s.ActiveVersion}, previous {s.PreviousVersion ?? "-"}, {s.Phase}: {s.LastFailure}"));
            return 0;
        });
        return command;
    }

    private static Command CrashBenchCommand(CliContext context)
    {
        var kills = new Option<int>("--kills") { Description = "SIGKILLs of the deploying process", DefaultValueFactory = _ => 1000 };
        var seed = new Option<int>("--seed") { Description = "Random seed (kill moments)", DefaultValueFactory = _ => 1 };
        var directory = new Option<string?>("--dir") { Description = "Empty directory to work in (default: a temporary one, deleted afterwards)" };
        var json = CliOutput.Json();
        var command = new Command("crash-bench", "Kill a process deploying version after version (download, verify, activate, probation) with SIGKILL; after each kill a restarted store must verify its active version");
        command.AddOptions(kills, seed, directory, json);
        command.SetAction(result =>
        {
            int count = result.GetValue(kills);
            var (self, prefix) = SelfInvocation.Current();
            var report = DeployCrashTest.RunChecked(result.GetValue(directory), (dir, childSeed) =>
            {
                var start = new ProcessStartInfo(self);
                foreach (string argument in (string[])[.. prefix, "deploy", "crash-child", dir, "--seed", childSeed.ToString(CultureInfo.InvariantCulture)])
                {
                    start.ArgumentList.Add(argument);
                }
                return start;
            }, count, result.GetValue(seed), result.GetValue(json) ? null : done =>
            {
                if (done % 50 == 0)
                {
                    context.Error.WriteLine($"{done}/{count} kills");
                }
            });
            context.Write(result.GetValue(json), report, (writer, r) => r.WriteText(writer));
            return report.Passed ? 0 : 1;
        });
        return command;
    }

    private static Command CrashChildCommand()
    {
        var workspace = new Argument<string>("workspace") { Description = "Crash-bench workspace" };
        var seed = new Option<int>("--seed") { Description = "Random seed (download chunk sizes)", DefaultValueFactory = _ => 1 };
        var command = new Command("crash-child", "Deploy version after version until killed, announcing each step (the process crash-bench kills)") { Hidden = true };
        command.Arguments.Add(workspace);
        command.Options.Add(seed);
        command.SetAction(async (result, cancellation) =>
        {
            await DeployCrashChild.RunAsync(result.GetValue(workspace)!, result.GetValue(seed), Console.Out, cancellation);
            return 0;
        });
        return command;
    }
}
