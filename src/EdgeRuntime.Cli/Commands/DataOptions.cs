using System.CommandLine;
using EdgeRuntime.Data;

namespace EdgeRuntime.Cli.Commands;

/// <summary>Where evaluation data comes from: a known dataset, or .npy files (samples along the first axis).</summary>
internal sealed class DataOptions
{
    public Option<string?> Dataset { get; } = new("--dataset") { Description = $"Known dataset: {string.Join(", ", DatasetCatalog.KnownNames)}" };
    public Option<FileInfo?> Data { get; } = new("--data") { Description = "Samples as .npy, samples along the first axis" };
    public Option<FileInfo?> Labels { get; } = new("--labels") { Description = "Integer labels as .npy, one per sample (optional with --data)" };
    public Option<float> Scale { get; } = new("--scale") { Description = "Factor applied to --data values (e.g. 0.00392157 for raw 8-bit pixels)", DefaultValueFactory = _ => 1f };
    public Option<int?> Limit { get; } = new("--limit") { Description = "Use only the first N samples" };

    public void AddTo(Command command)
    {
        command.Options.Add(Dataset);
        command.Options.Add(Data);
        command.Options.Add(Labels);
        command.Options.Add(Scale);
        command.Options.Add(Limit);
    }

    public bool IsGiven(ParseResult result) => result.GetValue(Dataset) is not null || result.GetValue(Data) is not null;

    /// <summary>Loads the data the options name; labelled is false for --data without --labels.</summary>
    public (LabelledDataset Data, bool Labelled, string Name) Load(ParseResult result)
    {
        string? dataset = result.GetValue(Dataset);
        var data = result.GetValue(Data);
        var labels = result.GetValue(Labels);
        if (dataset is not null && data is not null)
        {
            throw new CliError("give either --dataset or --data, not both");
        }
        if (labels is not null && data is null)
        {
            throw new CliError("--labels needs --data");
        }
        if (dataset is not null)
        {
            return (DatasetCatalog.Resolve(dataset), true, dataset);
        }
        if (data is null)
        {
            throw new CliError("say what to evaluate on: --dataset NAME or --data X.npy [--labels Y.npy]");
        }
        float scale = result.GetValue(Scale);
        if (labels is not null)
        {
            return (LabelledDataset.FromNpy(data.FullName, labels.FullName, scale), true, data.Name);
        }
        var samples = NpyFile.Load(data.FullName);
        if (samples.Rank < 1 || samples.Shape[0] == 0)
        {
            throw new CliError($"{data.Name}: needs at least one sample along the first axis, has shape [{string.Join(",", samples.Shape)}]");
        }
        var values = samples.ToFloat32();
        if (scale != 1f)
        {
            for (int i = 0; i < values.Length; i++)
            {
                values[i] *= scale;
            }
        }
        long count = samples.Shape[0];
        return (new LabelledDataset(values, samples.Shape[1..], new long[count], data.Name), false, data.Name);
    }
}
