using System.Globalization;
using System.Text;

namespace EdgeRuntime.Zoo;

/// <summary>
/// BERT's uncased WordPiece tokenizer: clean the text, put spaces around CJK characters, split on
/// whitespace, lower-case, strip accents, split off punctuation, then cut each word greedily into
/// the longest vocabulary pieces, continuation pieces prefixed with "##"; a word that cannot be
/// cut entirely (or is longer than 100 characters) becomes [UNK].
/// </summary>
public sealed class WordPieceTokenizer
{
    public const string PadToken = "[PAD]";
    public const string UnknownToken = "[UNK]";
    public const string ClassifierToken = "[CLS]";
    public const string SeparatorToken = "[SEP]";

    private const int MaxCharsPerWord = 100;

    private readonly Dictionary<string, int> _ids;

    /// <param name="vocabulary">Tokens in id order (line n of vocab.txt is id n).</param>
    public WordPieceTokenizer(IEnumerable<string> vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        _ids = new Dictionary<string, int>(StringComparer.Ordinal);
        int id = 0;
        foreach (string token in vocabulary)
        {
            _ids.TryAdd(token, id++);
        }

        VocabularySize = id;
        PadId = RequireSpecial(PadToken);
        UnknownId = RequireSpecial(UnknownToken);
        ClassifierId = RequireSpecial(ClassifierToken);
        SeparatorId = RequireSpecial(SeparatorToken);
    }

    public int VocabularySize { get; }

    public int PadId { get; }

    public int UnknownId { get; }

    public int ClassifierId { get; }

    public int SeparatorId { get; }

    /// <summary>Reads a vocab.txt: one token per line, the line number being the id.</summary>
    /// <exception cref="InvalidDataException">The file lacks one of [PAD], [UNK], [CLS], [SEP].</exception>
    public static WordPieceTokenizer FromVocabularyFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return new WordPieceTokenizer(File.ReadLines(path, Encoding.UTF8).Select(line => line.TrimEnd('\r')));
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
    }

    /// <summary>The id of a token, or the [UNK] id.</summary>
    public int IdOf(string token) => _ids.TryGetValue(token, out int id) ? id : UnknownId;

    /// <summary>The WordPiece tokens of <paramref name="text"/>, without [CLS]/[SEP].</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pieces = new List<string>();
        foreach (string word in BasicTokens(text))
        {
            AppendWordPieces(word, pieces);
        }

        return pieces;
    }

    /// <summary>
    /// [CLS] tokens [SEP], cut to <paramref name="maxLength"/> (the tokens are truncated, [SEP] is kept)
    /// and padded with [PAD]; the mask is 1 on real tokens; token types are all 0 (one segment).
    /// </summary>
    public BertEncoding Encode(string text, int maxLength = 128)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 2);
        var tokens = Tokenize(text);
        int kept = Math.Min(tokens.Count, maxLength - 2);
        var ids = new long[maxLength];
        var mask = new long[maxLength];
        ids[0] = ClassifierId;
        for (int i = 0; i < kept; i++)
        {
            ids[i + 1] = IdOf(tokens[i]);
        }

        ids[kept + 1] = SeparatorId;
        for (int i = kept + 2; i < maxLength; i++)
        {
            ids[i] = PadId;
        }

        for (int i = 0; i < kept + 2; i++)
        {
            mask[i] = 1;
        }

        return new BertEncoding(ids, mask, new long[maxLength], kept + 2, tokens.Count > kept);
    }

    private void AppendWordPieces(string word, List<string> pieces)
    {
        if (word.Length > MaxCharsPerWord)
        {
            pieces.Add(UnknownToken);
            return;
        }

        int firstPiece = pieces.Count;
        int start = 0;
        while (start < word.Length)
        {
            string? match = null;
            for (int end = word.Length; end > start; end--)
            {
                string candidate = start == 0 ? word[start..end] : "##" + word[start..end];
                if (_ids.ContainsKey(candidate))
                {
                    match = candidate;
                    start = end;
                    break;
                }
            }

            if (match is null)
            {
                // One piece that cannot be matched makes the whole word unknown.
                pieces.RemoveRange(firstPiece, pieces.Count - firstPiece);
                pieces.Add(UnknownToken);
                return;
            }

            pieces.Add(match);
        }
    }

    private static IEnumerable<string> BasicTokens(string text)
    {
        var cleaned = new StringBuilder(text.Length + 16);
        foreach (var rune in text.EnumerateRunes())
        {
            int code = rune.Value;
            if (code == 0 || code == 0xFFFD || IsControl(rune))
            {
                continue;
            }

            if (IsWhitespace(rune))
            {
                cleaned.Append(' ');
            }
            else if (IsCjk(code))
            {
                cleaned.Append(' ').Append(rune.ToString()).Append(' ');
            }
            else
            {
                cleaned.Append(rune.ToString());
            }
        }

        foreach (string token in cleaned.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            string normalized = StripAccents(token.ToLowerInvariant());
            var current = new StringBuilder();
            foreach (var rune in normalized.EnumerateRunes())
            {
                if (IsPunctuation(rune))
                {
                    if (current.Length > 0)
                    {
                        yield return current.ToString();
                        current.Clear();
                    }

                    yield return rune.ToString();
                }
                else
                {
                    current.Append(rune.ToString());
                }
            }

            if (current.Length > 0)
            {
                yield return current.ToString();
            }
        }
    }

    private static string StripAccents(string text)
    {
        var result = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark)
            {
                result.Append(AccentFolding.Fold(c));
            }
        }

        return result.ToString();
    }

    private static bool IsWhitespace(Rune rune) =>
        rune.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(rune) == UnicodeCategory.SpaceSeparator;

    private static bool IsControl(Rune rune)
    {
        if (rune.Value is '\t' or '\n' or '\r')
        {
            return false;
        }

        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }

    // ASCII symbols count as punctuation too ('$', '^', '`', ...), as in BERT.
    private static bool IsPunctuation(Rune rune)
    {
        int code = rune.Value;
        if (code is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126)
        {
            return true;
        }

        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    private static bool IsCjk(int code) =>
        code is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;

    private int RequireSpecial(string token) =>
        _ids.TryGetValue(token, out int id)
            ? id
            : throw new InvalidDataException($"the vocabulary ({VocabularySize} tokens) has no {token} token, so it is not a BERT WordPiece vocabulary");
}
