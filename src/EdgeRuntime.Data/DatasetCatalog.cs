namespace EdgeRuntime.Data;

/// <summary>Datasets known by name, for command lines and configuration files.</summary>
public static class DatasetCatalog
{
    private static readonly Dictionary<string, Func<string?, LabelledDataset>> Loaders = new(StringComparer.OrdinalIgnoreCase)
    {
        ["fashion-mnist"] = directory => FashionMnist.Load(FashionMnistSplit.Test, directory),
        ["fashion-mnist-test"] = directory => FashionMnist.Load(FashionMnistSplit.Test, directory),
        ["fashion-mnist-train"] = directory => FashionMnist.Load(FashionMnistSplit.Train, directory),
    };

    /// <summary>The names <see cref="Resolve"/> accepts ("fashion-mnist" is the 10,000-image test split).</summary>
    public static IReadOnlyList<string> KnownNames { get; } = [.. Loaders.Keys];

    public static bool IsKnown(string name) => Loaders.ContainsKey(name);

    /// <summary>Loads a dataset by name (case-insensitive).</summary>
    /// <param name="directory">Where to find the files instead of the dataset's default location.</param>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the known names.</exception>
    public static LabelledDataset Resolve(string name, string? directory = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Loaders.TryGetValue(name, out var load)
            ? load(directory)
            : throw new ArgumentException($"unknown dataset '{name}'; known datasets: {string.Join(", ", KnownNames)}", nameof(name));
    }
}
