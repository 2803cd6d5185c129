namespace EdgeRuntime.Zoo;

/// <summary>The .npy files (one per MiniLM input) and the sentences they encode.</summary>
public sealed record MiniLmInputFiles(string InputIds, string AttentionMask, string TokenTypeIds, string Sentences, int Count)
{
    /// <summary>Input name to file, the form calibration and evaluation take.</summary>
    public IReadOnlyDictionary<string, string> ByInputName => new Dictionary<string, string>
    {
        ["input_ids"] = InputIds,
        ["attention_mask"] = AttentionMask,
        ["token_type_ids"] = TokenTypeIds,
    };
}
