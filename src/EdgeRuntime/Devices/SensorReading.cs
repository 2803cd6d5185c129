namespace EdgeRuntime.Devices;

/// <summary>A reading that has no dedicated place in the snapshot (an I2C temperature chip, a HAT's figures), with its unit.</summary>
public sealed record SensorReading(string Sensor, string Quantity, string Unit, Reading<double> Value);
