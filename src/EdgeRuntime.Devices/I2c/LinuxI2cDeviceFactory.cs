using System.Device.I2c;

namespace EdgeRuntime.Devices.I2c;

/// <summary>The board's I2C buses through System.Device.Gpio (/dev/i2c-N).</summary>
public sealed class LinuxI2cDeviceFactory : II2cDeviceFactory
{
    public I2cDevice Create(int bus, int address) => I2cDevice.Create(new I2cConnectionSettings(bus, address));
}
