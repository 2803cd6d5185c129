using System.Device.I2c;
using EdgeRuntime.Devices.I2c;

namespace EdgeRuntime.Devices.Tests;

/// <summary>Register-file models of the chips the descriptors name, holding the values a test sets.</summary>
internal sealed class Ina219Chip(int bus, int address) : RegisterFileI2cDevice(bus, address)
{
    /// <summary>Bus voltage in 4 mV steps (shifted by 3), current and power in the binding's calibrated LSBs.</summary>
    public void Set(double volts, double amperes, double maxCurrent)
    {
        double currentLsb = maxCurrent / 32768;
        SetRegister16(2, (ushort)((int)Math.Round(volts / 0.004) << 3));
        SetRegister16(4, (ushort)Math.Round(amperes / currentLsb));
        SetRegister16(3, (ushort)Math.Round(volts * amperes / (currentLsb * 20)));
    }
}

internal sealed class Ina236Chip : RegisterFileI2cDevice
{
    public Ina236Chip(int bus, int address) : base(bus, address) => SetRegister16(0x3F, 0xA080);

    public void Set(double volts, double amperes, double shuntOhms, double maxCurrent)
    {
        int calibration = (int)(0.00512 / (maxCurrent / 32768 * 2 * shuntOhms));
        double currentLsb = 0.00512 / shuntOhms / calibration;
        SetRegister16(2, (ushort)Math.Round(volts / 0.0016));
        SetRegister16(4, (ushort)(short)Math.Round(amperes / currentLsb));
        SetRegister16(3, (ushort)Math.Round(Math.Abs(volts * amperes) / (currentLsb * 32)));
    }
}

internal sealed class Mcp9808Chip : RegisterFileI2cDevice
{
    public Mcp9808Chip(int bus, int address) : base(bus, address)
    {
        SetRegister16(6, 0x0054);
        SetRegister16(7, 0x0400);
        SetRegister16(1, 0);
    }

    /// <summary>Ambient temperature register: 1/16 °C steps with the sign in bit 12.</summary>
    public void Set(double celsius)
    {
        int sixteenths = (int)Math.Round(celsius * 16);
        SetRegister16(5, (ushort)(sixteenths < 0 ? 0x1000 | ((sixteenths + 4096) & 0x0FFF) : sixteenths & 0x0FFF));
    }
}

internal sealed class Lm75Chip : RegisterFileI2cDevice
{
    public Lm75Chip(int bus, int address) : base(bus, address) => SetRegister(1, 0);

    /// <summary>11-bit two's complement in the top bits of the 16-bit temperature register, 0.125 °C steps.</summary>
    public void Set(double celsius) => SetRegister16(0, (ushort)((short)Math.Round(celsius / 0.125) << 5));
}

/// <summary>The PiJuice answers each command with its data bytes and an XOR checksum (0xFF seed).</summary>
internal sealed class PiJuiceChip : RegisterFileI2cDevice
{
    public PiJuiceChip(int bus, int address) : base(bus, address) => Command(0xFD, 0x13, 0x00);

    public void Command(byte command, params byte[] data)
    {
        byte checksum = 0xFF;
        foreach (byte b in data)
        {
            checksum ^= b;
        }
        SetRegister(command, [.. data, checksum]);
    }

    public void Set(int percent, int millivolts, int milliamperes, int batteryState, int powerInput)
    {
        Command(0x40, (byte)((batteryState << 2) | (powerInput << 4)));
        Command(0x41, (byte)percent);
        Command(0x49, (byte)millivolts, (byte)(millivolts >> 8));
        Command(0x4B, (byte)milliamperes, (byte)(milliamperes >> 8));
    }
}

internal sealed class SingleDeviceFactory(I2cDevice device) : II2cDeviceFactory
{
    public I2cDevice Create(int bus, int address) => device;
}
