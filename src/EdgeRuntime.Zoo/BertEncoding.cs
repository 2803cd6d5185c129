namespace EdgeRuntime.Zoo;

/// <summary>One text encoded for a BERT model, each array of the fixed sequence length.</summary>
/// <param name="Length">Real tokens including [CLS] and [SEP]; the rest is padding.</param>
/// <param name="Truncated">True when tokens were cut to fit the sequence length.</param>
public sealed record BertEncoding(long[] InputIds, long[] AttentionMask, long[] TokenTypeIds, int Length, bool Truncated);
