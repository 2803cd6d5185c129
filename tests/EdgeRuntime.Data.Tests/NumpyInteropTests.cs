using System.Diagnostics;

namespace EdgeRuntime.Data.Tests;

/// <summary>Round trips through the real NumPy (Debian's python3-numpy), when it is installed.</summary>
public sealed class NumpyInteropTests : IDisposable
{
    private const string Python = "/usr/bin/python3";

    private static readonly Lazy<bool> NumpyAvailable = new(() =>
    {
        if (!File.Exists(Python))
        {
            return false;
        }
        try
        {
            using var process = Process.Start(new ProcessStartInfo(Python, ["-c", "import numpy"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            return process.WaitForExit(30_000) && process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    });

    // Values mirror TestArrays.ExpectedValue so both sides can check each other's files.
    private const string Script = """
        import sys
        import numpy as np

        NAMES = ["float16", "float32", "float64", "int8", "uint8", "int16", "uint16",
                 "int32", "uint32", "int64", "uint64", "bool"]

        def expected(name, shape=(2, 3, 4)):
            i = np.arange(int(np.prod(shape)))
            if name.startswith("float"):
                values = (i % 64) * 0.5 - 3
            elif name == "bool":
                values = i % 3 == 0
            elif name.startswith("int"):
                values = i % 100 - 50
            else:
                values = i % 200
            return values.astype(name).reshape(shape)

        def write(directory):
            for name in NAMES:
                a = expected(name)
                np.save(f"{directory}/{name}.npy", a)
                np.save(f"{directory}/{name}-be.npy", a.astype(a.dtype.newbyteorder(">")))
                np.save(f"{directory}/{name}-fortran.npy", np.asfortranarray(a))
            for version in [(2, 0), (3, 0)]:
                with open(f"{directory}/v{version[0]}.npy", "wb") as f:
                    np.lib.format.write_array(f, expected("float32"), version=version)
            np.save(f"{directory}/scalar.npy", np.float64(2.5))
            np.save(f"{directory}/empty.npy", np.zeros((0, 5), np.float32))

        def check(directory):
            for name in NAMES:
                a = np.load(f"{directory}/{name}.npy", allow_pickle=False)
                want = expected(name)
                if a.dtype != want.dtype or a.shape != want.shape or not np.array_equal(a, want):
                    sys.exit(f"{name}.npy: got {a.dtype}{a.shape} {a.ravel()[:6]}, want {want.dtype}{want.shape}")
            s = np.load(f"{directory}/scalar.npy")
            if s.shape != () or s.dtype != np.float64 or s != 2.5:
                sys.exit(f"scalar.npy: got {s.dtype}{s.shape} {s}")
            e = np.load(f"{directory}/empty.npy")
            if e.shape != (0, 5) or e.dtype != np.float32:
                sys.exit(f"empty.npy: got {e.dtype}{e.shape}")
            print("ok")

        {"write": write, "check": check}[sys.argv[1]](sys.argv[2])
        """;

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static void SkipUnlessNumpy() =>
        Assert.SkipUnless(NumpyAvailable.Value, $"{Python} with numpy is not available (install Debian package python3-numpy)");

    [Fact]
    public async Task FilesWrittenByNumpy_AreRead()
    {
        SkipUnlessNumpy();
        await RunScriptAsync("write");

        foreach (var type in Enum.GetValues<DataElementType>())
        {
            foreach (string variant in (string[])["", "-be", "-fortran"])
            {
                string file = $"{type.ToName()}{variant}.npy";
                NpyArray array = NpyFile.Load(_temp.PathOf(file));
                Assert.True(type == array.ElementType, $"{file}: element type {array.ElementType}");
                Assert.Equal([2L, 3L, 4L], array.Shape);
                Assert.Equal(TestArrays.ExpectedFloats(type, 24), array.ToFloat32());
            }
        }
        foreach (int major in (int[])[2, 3])
        {
            string path = _temp.PathOf($"v{major}.npy");
            Assert.Equal(major, NpyFile.ReadHeader(path).FormatVersion.Major);
            Assert.Equal(TestArrays.ExpectedFloats(DataElementType.Float32, 24), NpyFile.Load(path).ToFloat32());
        }
        NpyArray scalar = NpyFile.Load(_temp.PathOf("scalar.npy"));
        Assert.Empty(scalar.Shape);
        Assert.Equal([2.5], scalar.ToArray<double>());
        Assert.Equal([0L, 5L], NpyFile.Load(_temp.PathOf("empty.npy")).Shape);

        using var reader = NpyReader.Open(_temp.PathOf("int16-be.npy"));
        Assert.Equal(TestArrays.ExpectedFloats(DataElementType.Int16, 24)[12..], reader.ReadRows(1, 1).ToFloat32());
    }

    [Fact]
    public async Task FilesWeWrite_AreReadByNumpy()
    {
        SkipUnlessNumpy();
        foreach (var type in Enum.GetValues<DataElementType>())
        {
            NpyFile.Save(_temp.PathOf($"{type.ToName()}.npy"), TestArrays.Sequence(type, 2, 3, 4));
        }
        NpyFile.Save(_temp.PathOf("scalar.npy"), NpyArray.FromValues<double>([2.5]));
        NpyFile.Save(_temp.PathOf("empty.npy"), NpyArray.Zeros(DataElementType.Float32, 0, 5));

        string output = await RunScriptAsync("check");

        Assert.Equal("ok", output.Trim());
    }

    private async Task<string> RunScriptAsync(string mode)
    {
        string scriptPath = _temp.PathOf("interop.py");
        await File.WriteAllTextAsync(scriptPath, Script, TestContext.Current.CancellationToken);

        var startInfo = new ProcessStartInfo(Python, [scriptPath, mode, _temp.FullPath])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(startInfo)!;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(1));
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        Task<string> stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);

        string error = await stderr;
        Assert.True(process.ExitCode == 0, $"python {mode} failed ({process.ExitCode}): {error}");
        return await stdout;
    }
}
