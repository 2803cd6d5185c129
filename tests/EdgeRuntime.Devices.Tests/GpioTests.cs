using System.Device.Gpio;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.Gpio;
using Iot.Device.Gpio;

namespace EdgeRuntime.Devices.Tests;

/// <summary>Fan, status LEDs and the low-battery line through a recording GpioDriver under a VirtualGpioController.</summary>
public sealed class GpioTests
{
    private const int FanPin = 14;

    private static (RecordingGpioDriver Driver, GpioController Physical, VirtualGpioController Virtual) Controllers(params int[] pins)
    {
        var driver = new RecordingGpioDriver();
        var physical = new GpioController(driver);
        var opened = pins.ToDictionary(p => p, p => physical.OpenPin(p, PinMode.Output));
        return (driver, physical, new VirtualGpioController(opened));
    }

    [Fact]
    public void The_raspberry_pi_5_fan_steps_up_at_once_and_down_only_past_the_hysteresis()
    {
        var curve = FanCurve.RaspberryPi5;
        int level = 0;
        var levels = new List<int>();
        foreach (double celsius in new[] { 45, 50, 59.9, 60, 67.5, 75, 80, 72, 70.1, 69.9, 63, 62.4, 56, 54.9, 46, 44.9 })
        {
            level = curve.Next(celsius, level);
            levels.Add(level);
        }
        Assert.Equal([0, 1, 1, 2, 3, 4, 4, 4, 4, 3, 3, 2, 2, 1, 1, 0], levels);
    }

    [Fact]
    public void The_fan_pin_follows_the_curve_through_the_gpio_driver()
    {
        var (driver, physical, controller) = Controllers(FanPin);
        using (physical)
        using (controller)
        {
            var descriptor = new FanDescriptor { Pin = FanPin, Steps = [new(50, 1), new(60, 2)], HysteresisCelsius = 5 };
            var fan = FanController.FromDescriptor(controller, descriptor);
            Assert.Equal(PinValue.Low, driver.ValueOf(FanPin));
            foreach (double celsius in new[] { 49.9, 50.0, 47.0, 45.1, 44.9, 44.0 })
            {
                fan.Update(celsius);
            }
            // on at 50, held through 47 and 45.1 (within 5 °C), off at 44.9.
            Assert.Equal([PinValue.Low, PinValue.High, PinValue.Low], driver.Writes.Where(w => w.Pin == FanPin).Select(w => w.Value));
            Assert.Equal(2, fan.Changes);

            fan.Update(Reading<double>.Unavailable("sensor gone"));
            Assert.Equal(2, fan.Level);
            Assert.Equal(PinValue.High, driver.ValueOf(FanPin));
        }
    }

    [Fact]
    public void Status_leds_light_the_serving_tier()
    {
        var (driver, physical, controller) = Controllers(17, 27, 22);
        using (physical)
        using (controller)
        {
            var leds = new StatusLeds(controller, [17, 27, 22]);
            leds.ShowTier(1);
            Assert.Equal([PinValue.Low, PinValue.High, PinValue.Low], new[] { 17, 27, 22 }.Select(driver.ValueOf));
            leds.ShowTier(5);
            Assert.Equal([PinValue.Low, PinValue.Low, PinValue.High], new[] { 17, 27, 22 }.Select(driver.ValueOf));
            Assert.Throws<ArgumentOutOfRangeException>(() => leds.ShowTier(-1));
        }
    }

    [Fact]
    public void The_low_battery_line_raises_an_event_on_each_change()
    {
        var driver = new RecordingGpioDriver();
        driver.SetInput(6, PinValue.High);
        using var physical = new GpioController(driver);
        using var controller = new VirtualGpioController(new Dictionary<int, GpioPin> { [6] = physical.OpenPin(6, PinMode.Input) });
        using var line = new LowPowerInput(controller, 6, activeLow: true);
        var events = new List<bool>();
        line.Changed += (_, low) => events.Add(low);
        Assert.False(line.IsLow);
        driver.SetInput(6, PinValue.Low);
        Assert.True(line.IsLow);
        driver.SetInput(6, PinValue.High);
        Assert.Equal([true, false], events);
    }

    [Fact]
    public void Missing_libgpiod_v2_is_reported_by_name()
    {
        using var tree = new TempTree();
        tree.Raw("/dev/gpiochip0", "");
        var debian12 = GpioSupport.Detect(tree.Root, name => name == GpioSupport.LibgpiodV1Name);
        Assert.False(debian12.Available);
        Assert.Contains("libgpiod.so.3", debian12.Reason);
        Assert.Contains("Debian 12", debian12.Reason);
        Assert.True(GpioSupport.Detect(tree.Root, _ => true).Available);
        using var empty = new TempTree();
        Assert.Contains("/dev/gpiochip", GpioSupport.Detect(empty.Root, _ => true).Reason);
    }
}
