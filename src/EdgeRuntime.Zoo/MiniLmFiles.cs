namespace EdgeRuntime.Zoo;

/// <summary>The cached all-MiniLM-L6-v2 model and its WordPiece vocabulary.</summary>
public sealed record MiniLmFiles(string ModelPath, string VocabularyPath);
