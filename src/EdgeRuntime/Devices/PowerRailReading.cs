namespace EdgeRuntime.Devices;

/// <summary>One measured power rail (a Jetson INA3221 channel, an INA219 on a Pi): volts, amperes, watts.</summary>
public sealed record PowerRailReading(string Rail, Reading<double> Volts, Reading<double> Amperes, Reading<double> Watts);
