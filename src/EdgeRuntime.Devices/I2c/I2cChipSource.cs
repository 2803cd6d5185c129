using System.Device.I2c;
using EdgeRuntime.Devices.Boards;

namespace EdgeRuntime.Devices.I2c;

/// <summary>
/// Base for chips read through Iot.Device.Bindings. Opening the device or the binding is retried on every read
/// until it succeeds (a HAT may be plugged in late); bus errors (IOException) and a binding's refusals become
/// unavailable readings with the reason, never exceptions out of the monitor.
/// </summary>
public abstract class I2cChipSource(I2cChipDescriptor chip, II2cDeviceFactory factory) : ISensorSource, IDisposable
{
    private I2cDevice? _device;
    private IDisposable? _binding;

    public string Name => $"i2c:{chip.Chip}@{chip.Bus}-{chip.Address}";

    protected I2cChipDescriptor Chip => chip;

    public void ReadInto(DeviceSnapshotBuilder snapshot)
    {
        string? problem = null;
        try
        {
            if (_binding is null)
            {
                _device ??= factory.Create(chip.Bus, chip.ParsedAddress);
                _binding = Open(_device);
            }
            ReadChip(snapshot, _binding);
            return;
        }
        catch (IOException e)
        {
            problem = $"I2C bus {chip.Bus} address {chip.Address}: {e.Message}";
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or UnauthorizedAccessException or PlatformNotSupportedException or InvalidDataException)
        {
            // Bindings throw these when the device at the address is not the chip they expect, or /dev/i2c-N is missing.
            problem = $"I2C bus {chip.Bus} address {chip.Address}: {e.Message}";
            CloseBinding();
        }
        catch (Exception e) when (e.GetType() == typeof(Exception))
        {
            // Some bindings throw the base type when the chip's identity registers do not match.
            problem = $"I2C bus {chip.Bus} address {chip.Address}: {e.Message}";
            CloseBinding();
        }
        foreach (var (quantity, unit) in Quantities)
        {
            snapshot.AddSensor(chip.Name, quantity, unit, Reading<double>.Unavailable(problem));
        }
    }

    /// <summary>The quantities this chip reports, so a failed read still lists each as unavailable.</summary>
    protected abstract IReadOnlyList<(string Quantity, string Unit)> Quantities { get; }

    protected abstract IDisposable Open(I2cDevice device);

    protected abstract void ReadChip(DeviceSnapshotBuilder snapshot, IDisposable binding);

    public void Dispose()
    {
        CloseBinding();
        GC.SuppressFinalize(this);
    }

    private void CloseBinding()
    {
        _binding = null;
        _device?.Dispose();
        _device = null;
    }
}
