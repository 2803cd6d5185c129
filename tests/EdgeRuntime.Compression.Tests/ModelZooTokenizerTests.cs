using EdgeRuntime.Zoo;

namespace EdgeRuntime.Compression.Tests;

/// <summary>The WordPiece tokenizer against a small hand-made vocabulary (and the real one when cached).</summary>
public sealed class ModelZooTokenizerTests
{
    // Ids are line numbers, as in a vocab.txt.
    private static readonly string[] Vocabulary =
    [
        "[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "sat", "on", "mat", "un", "##aff", "##able", ".", ",", "!",
        "cafe", "hello", "world", "##s", "play", "##ing", "日", "naive", "'", "t", "can", "$", "1", "##5",
    ];

    private static readonly WordPieceTokenizer Tokenizer = new(Vocabulary);

    [Fact]
    public void Encodes_a_sentence_with_cls_sep_and_padding()
    {
        var encoding = Tokenizer.Encode("The cat sat on the mat.", maxLength: 12);

        Assert.Equal([3L, 5, 6, 7, 8, 5, 9, 13, 4, 0, 0, 0], encoding.InputIds);
        Assert.Equal([1L, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0], encoding.AttentionMask);
        Assert.Equal(new long[12], encoding.TokenTypeIds);
        Assert.Equal(9, encoding.Length);
        Assert.False(encoding.Truncated);
    }

    [Theory]
    [InlineData("unaffable", "un ##aff ##able")]
    [InlineData("cats", "cat ##s")]
    [InlineData("playing", "play ##ing")]
    [InlineData("HELLO, World!", "hello , world !")]
    [InlineData("Café  naïve", "cafe naive")]
    [InlineData("can't", "can ' t")]
    [InlineData("$15", "$ 1 ##5")]
    [InlineData("the日cat", "the 日 cat")]
    [InlineData("the\u0000 ca\u200Bt\tsat\u00A0on", "the cat sat on")]
    public void Splits_words_into_the_longest_vocabulary_pieces(string text, string expected)
    {
        Assert.Equal(expected, string.Join(' ', Tokenizer.Tokenize(text)));
    }

    [Theory]
    [InlineData("dog", "[UNK]")]
    [InlineData("catz sat", "[UNK] sat")]
    [InlineData("the ☃ mat", "the [UNK] mat")]
    public void Words_that_cannot_be_cut_completely_become_unknown(string text, string expected)
    {
        Assert.Equal(expected, string.Join(' ', Tokenizer.Tokenize(text)));
        Assert.Contains(2L, Tokenizer.Encode(text, 8).InputIds);
    }

    [Fact]
    public void A_word_longer_than_100_characters_is_unknown()
    {
        Assert.Equal(["[UNK]"], Tokenizer.Tokenize(new string('a', 101)));
    }

    [Fact]
    public void Long_texts_are_cut_to_the_sequence_length_keeping_sep()
    {
        var encoding = Tokenizer.Encode("the cat sat on the mat", maxLength: 6);

        Assert.Equal([3L, 5, 6, 7, 8, 4], encoding.InputIds);
        Assert.All(encoding.AttentionMask, value => Assert.Equal(1L, value));
        Assert.True(encoding.Truncated);
    }

    [Fact]
    public void Empty_text_is_cls_and_sep_only()
    {
        Assert.Equal([3L, 4, 0, 0], Tokenizer.Encode("  ", maxLength: 4).InputIds);
    }

    [Fact]
    public void A_vocabulary_without_the_special_tokens_is_rejected()
    {
        var error = Assert.Throws<InvalidDataException>(() => new WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "hello"]));

        Assert.Contains("[SEP]", error.Message);
    }

    [Fact]
    public void The_packaged_vocabulary_gives_bert_uncased_ids()
    {
        var files = ModelZooPipelineTests.RequireMiniLm();
        var tokenizer = WordPieceTokenizer.FromVocabularyFile(files.VocabularyPath);
        var lines = File.ReadAllLines(files.VocabularyPath);

        var encoding = tokenizer.Encode("Hello, world! The café.", maxLength: 10);

        Assert.Equal(30522, tokenizer.VocabularySize);
        Assert.Equal([101L, 7592, 1010, 2088, 999, 1996, 7668, 1012, 102, 0], encoding.InputIds);
        Assert.Equal(100, tokenizer.UnknownId);
        foreach (string sentence in SentenceGenerator.Generate(256))
        {
            var pieces = tokenizer.Tokenize(sentence);
            Assert.DoesNotContain("[UNK]", pieces);
            Assert.True(pieces.Count <= 126, $"'{sentence}' needs {pieces.Count} tokens");
            Assert.All(tokenizer.Encode(sentence).InputIds.Where(id => id != 0), id => Assert.False(string.IsNullOrEmpty(lines[id])));
        }
    }

    [Fact]
    public void Generated_sentences_are_distinct_varied_and_the_same_every_time()
    {
        var sentences = SentenceGenerator.Generate(256);

        Assert.Equal(256, sentences.Distinct().Count());
        Assert.Equal(sentences, SentenceGenerator.Generate(256));
        Assert.Equal("The chef measured the bridge in a small village after lunch.", sentences[0]);
        Assert.Contains(sentences, s => s.EndsWith('?'));
        Assert.Contains(sentences, s => s.Any(c => c > 127));
        Assert.Contains(sentences, s => s.Split(' ').Length > 30);
        Assert.NotEqual(sentences, SentenceGenerator.Generate(256, seed: 7));
    }
}
