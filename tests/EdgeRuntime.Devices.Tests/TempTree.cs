using EdgeRuntime.Devices.Simulation;
using EdgeRuntime.Devices.Sysfs;

namespace EdgeRuntime.Devices.Tests;

/// <summary>A temporary directory standing for "/", deleted at the end of the test.</summary>
internal sealed class TempTree : IDisposable
{
    public TempTree()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("edgert-devices-").FullName;
        Root = new SysfsRoot(Directory);
        Writer = new SysfsTreeWriter(Root);
    }

    public string Directory { get; }

    public SysfsRoot Root { get; }

    public SysfsTreeWriter Writer { get; }

    /// <summary>Writes raw bytes at a board path (for garbage and malformed content).</summary>
    public void Raw(string boardPath, string text)
    {
        string path = Root.Resolve(boardPath);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    public void Delete(string boardPath) => File.Delete(Root.Resolve(boardPath));

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
