using System.CommandLine;
using EdgeRuntime.Reporting;

namespace EdgeRuntime.Cli;

/// <summary>The one `--json` switch, and the one place a command writes either a result's JSON or its text.</summary>
internal static class CliOutput
{
    public static Option<bool> Json(string description = "Print the report as JSON") => new("--json") { Description = description };

    /// <summary>The JSON of <paramref name="result"/> with --json, else what <paramref name="text"/> writes.</summary>
    public static void Write<T>(TextWriter output, bool json, T result, Action<TextWriter, T> text)
    {
        if (json)
        {
            output.WriteLine(ReportJson.Serialize(result));
        }
        else
        {
            text(output, result);
        }
    }

    public static void Write<T>(this CliContext context, bool json, T result, Action<TextWriter, T> text) => Write(context.Out, json, result, text);

    public static void AddOptions(this Command command, params Option[] options)
    {
        foreach (var option in options)
        {
            command.Options.Add(option);
        }
    }
}
