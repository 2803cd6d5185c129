using System.Device.I2c;

namespace EdgeRuntime.Devices.I2c;

/// <summary>Creates the I2C device for a bus and address: the Linux /dev/i2c-N on a board, a register file in tests and simulation.</summary>
public interface II2cDeviceFactory
{
    I2cDevice Create(int bus, int address);
}
