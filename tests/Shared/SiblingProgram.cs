using System.Diagnostics;

namespace EdgeRuntime.Testing;

/// <summary>A console program built next to the tests (the processes crash tests kill), started through the dotnet host.</summary>
internal static class SiblingProgram
{
    public static ProcessStartInfo Start(string assemblyName, params string[] arguments)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, assemblyName + ".dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{assemblyName} is not built next to the tests: {dll}", dll);
        }
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet");
        start.ArgumentList.Add(dll);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        return start;
    }
}
