using EdgeRuntime.Cli;
using EdgeRuntime.Samples;

namespace EdgeRuntime.Cli.Tests;

/// <summary>Runs `edgert` in-process and returns what it printed.</summary>
internal static class Cli
{
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public override string ToString() => $"exit {ExitCode}\nstdout:\n{Output}\nstderr:\n{Error}";
    }

    public static async Task<Result> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = await EdgertCli.RunAsync(args, output, error);
        return new Result(code, output.ToString(), error.ToString());
    }

    /// <summary>The embedded fixture model written into <paramref name="temp"/>, and a bundle of it made by `bundle create`.</summary>
    public static async Task<(string Model, string Bundle)> CreateFixtureBundleAsync(TempDirectory temp)
    {
        string model = SampleModels.WriteFashionCnn(temp.Path);
        string bundle = temp.File("bundle");
        var created = await RunAsync("bundle", "create", bundle, "--model", model);
        Assert.True(created.ExitCode == 0, created.ToString());
        return (model, bundle);
    }
}

internal static class Datasets
{
    /// <summary>Fashion-MNIST comes from a Debian package; CI installs it, so there a missing copy fails the test.</summary>
    public static void RequireFashionMnist()
    {
        bool present = System.IO.File.Exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
            || Environment.GetEnvironmentVariable("FASHION_MNIST_DIR") is not null;
        if (!present)
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "CI must install Debian package dataset-fashion-mnist");
            Assert.Skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        }
    }
}
