using System.Runtime.InteropServices;
using EdgeRuntime.Devices.Sysfs;

namespace EdgeRuntime.Devices.Gpio;

/// <summary>
/// Whether pins can be driven here. System.Device.Gpio's GpioController on Linux drives character-device GPIO
/// chips through libgpiod v2 (libgpiod.so.3); Debian 12 ships only v1 (libgpiod.so.2), so the check names
/// exactly what is missing instead of failing at the first pin.
/// </summary>
public sealed record GpioSupport(bool Available, IReadOnlyList<string> Chips, bool LibgpiodV2, bool LibgpiodV1, string Reason)
{
    public const string LibgpiodV2Name = "libgpiod.so.3";
    public const string LibgpiodV1Name = "libgpiod.so.2";

    public static GpioSupport Detect(SysfsRoot root) => Detect(root, TryLoad);

    /// <summary>Detection with the library probe injected (tests stand in for a machine with or without libgpiod).</summary>
    public static GpioSupport Detect(SysfsRoot root, Func<string, bool> libraryLoads)
    {
        var chips = root.Glob("/dev/gpiochip*");
        bool v2 = libraryLoads(LibgpiodV2Name);
        bool v1 = libraryLoads(LibgpiodV1Name);
        if (!OperatingSystem.IsLinux())
        {
            return new(false, chips, v2, v1, "GPIO through System.Device.Gpio is supported on Linux boards only");
        }
        if (chips.Count == 0)
        {
            return new(false, chips, v2, v1, "no GPIO character device (/dev/gpiochip*): this machine has no GPIO, or the container does not pass it through");
        }
        if (!v2)
        {
            return new(false, chips, v2, v1, v1
                ? $"found {LibgpiodV1Name} (libgpiod v1, as Debian 12 ships) but GpioController needs libgpiod v2 ({LibgpiodV2Name}); install libgpiod v2 (Debian 13: apt-get install libgpiod3) or build it from source"
                : $"libgpiod is not installed; GpioController needs libgpiod v2 ({LibgpiodV2Name}); install it (Debian 13: apt-get install libgpiod3)");
        }
        return new(true, chips, v2, v1, $"{chips.Count} GPIO chip(s), libgpiod v2 present");
    }

    private static bool TryLoad(string library)
    {
        if (!NativeLibrary.TryLoad(library, out nint handle))
        {
            return false;
        }
        NativeLibrary.Free(handle);
        return true;
    }
}
