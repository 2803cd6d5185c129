namespace EdgeRuntime.Devices.Sources;

/// <summary>Runs a board tool (vcgencmd, nvpmodel) and returns its standard output, or the reason it failed.</summary>
public interface ICommandRunner
{
    Reading<string> Run(string fileName, params string[] arguments);
}
