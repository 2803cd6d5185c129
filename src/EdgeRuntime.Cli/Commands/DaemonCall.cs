using EdgeRuntime.Client;

namespace EdgeRuntime.Cli.Commands;

/// <summary>Turns the client's typed failures into one-line CLI errors.</summary>
internal static class DaemonCall
{
    public static async Task<T> RunAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (EdgertConnectionException e)
        {
            throw new CliError($"{e.Message} (is edgertd running? start one with `edgert serve BUNDLE`)");
        }
        catch (EdgertException e)
        {
            throw new CliError($"the daemon refused: {e.Code}: {e.Message}");
        }
    }
}
