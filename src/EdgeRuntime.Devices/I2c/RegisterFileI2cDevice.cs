using System.Device.I2c;

namespace EdgeRuntime.Devices.I2c;

/// <summary>
/// A simulated I2C chip as a register file: a write sets the register pointer (first byte) and stores any
/// further bytes into that register; a read returns the register's bytes. Registers have their own widths
/// (16-bit big-endian for the INA and MCP9808 parts, 8-bit for an LM75's configuration). Faults can be injected:
/// every transfer then throws <see cref="IOException"/>, as a device that stopped answering does.
/// </summary>
public class RegisterFileI2cDevice(int bus, int address) : I2cDevice
{
    private readonly Dictionary<byte, byte[]> _registers = [];
    private readonly Lock _gate = new();
    private byte _pointer;

    public override I2cConnectionSettings ConnectionSettings { get; } = new(bus, address);

    /// <summary>When set, every transfer throws an IOException with this message (a NACK on a real bus).</summary>
    public string? Fault { get; set; }

    public int Transfers { get; private set; }

    /// <summary>Sets a 16-bit register (big-endian on the wire).</summary>
    public void SetRegister16(byte register, ushort value)
    {
        lock (_gate)
        {
            _registers[register] = [(byte)(value >> 8), (byte)value];
        }
    }

    public void SetRegister(byte register, params byte[] bytes)
    {
        lock (_gate)
        {
            _registers[register] = [.. bytes];
        }
    }

    public byte[] GetRegister(byte register)
    {
        lock (_gate)
        {
            return _registers.TryGetValue(register, out var bytes) ? [.. bytes] : [];
        }
    }

    public ushort GetRegister16(byte register)
    {
        var bytes = GetRegister(register);
        return bytes.Length >= 2 ? (ushort)(bytes[0] << 8 | bytes[1]) : (ushort)0;
    }

    public override byte ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        Read(one);
        return one[0];
    }

    public override void Read(Span<byte> buffer)
    {
        lock (_gate)
        {
            Begin();
            buffer.Clear();
            if (_registers.TryGetValue(_pointer, out var bytes))
            {
                bytes.AsSpan(0, Math.Min(bytes.Length, buffer.Length)).CopyTo(buffer);
            }
        }
    }

    public override void WriteByte(byte value) => Write([value]);

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_gate)
        {
            Begin();
            if (buffer.Length == 0)
            {
                return;
            }
            _pointer = buffer[0];
            if (buffer.Length > 1)
            {
                _registers[_pointer] = buffer[1..].ToArray();
                OnRegisterWritten(_pointer, buffer[1..]);
            }
        }
    }

    public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        Write(writeBuffer);
        Read(readBuffer);
    }

    /// <summary>Lets a chip model react to writes (a reset bit, a calibration value).</summary>
    protected virtual void OnRegisterWritten(byte register, ReadOnlySpan<byte> value)
    {
    }

    private void Begin()
    {
        Transfers++;
        if (Fault is not null)
        {
            throw new IOException(Fault);
        }
    }
}
