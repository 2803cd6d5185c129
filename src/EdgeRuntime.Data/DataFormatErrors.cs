namespace EdgeRuntime.Data;

/// <summary>
/// Builds the exception thrown for malformed data files. It is a plain <see cref="InvalidDataException"/>
/// (that type is sealed) whose message starts with the file name, so it can be shown to a user as is.
/// </summary>
internal static class DataFormatErrors
{
    /// <summary>Key under which the file name is also stored in <see cref="Exception.Data"/>.</summary>
    public const string SourceKey = "SourceName";

    public static InvalidDataException Create(string sourceName, string problem, Exception? inner = null)
    {
        var exception = new InvalidDataException($"{sourceName}: {problem}", inner);
        exception.Data[SourceKey] = sourceName;
        return exception;
    }
}
