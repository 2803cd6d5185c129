namespace EdgeRuntime.Zoo;

/// <summary>A zoo model could not be fetched or installed; the message says what failed and what to do.</summary>
public sealed class ModelFetchException : IOException
{
    public ModelFetchException(string message)
        : base(message)
    {
    }

    public ModelFetchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
