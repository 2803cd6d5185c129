using EdgeRuntime.Data;

namespace EdgeRuntime.Zoo;

/// <summary>
/// Varied English sentences made from templates and word lists with a seeded generator: the same
/// list on every machine, no external corpus. They mix statements, questions, instructions,
/// numbers, punctuation, contractions, accented and rare words (which WordPiece splits into
/// "##" pieces) and a few long sentences, so embeddings and tokenizer paths are exercised.
/// </summary>
public static class SentenceGenerator
{
    private static readonly string[] People = ["the engineer", "my neighbour", "a young doctor", "the old fisherman", "our teacher", "the pilot", "a tired student", "the chef", "her grandmother", "the night nurse", "a curious child", "the mayor", "the farmer", "his sister", "the librarian", "a famous violinist"];
    private static readonly string[] Things = ["the bridge", "a red bicycle", "the kitchen window", "an umbrella", "the telescope", "a wooden boat", "the garden gate", "a cup of coffee", "the laptop", "an old map", "the train ticket", "a glass vase", "the solar panel", "a paper lantern", "the thermostat", "a leather wallet"];
    private static readonly string[] Places = ["in the harbour", "near the station", "at the market", "on the mountain", "under the bridge", "in a small village", "at the airport", "behind the museum", "in the library", "on the beach", "inside the factory", "at the edge of the forest"];
    private static readonly string[] Times = ["yesterday", "this morning", "last winter", "every Sunday", "at midnight", "before dawn", "after lunch", "in 1998", "on Friday", "twice a week", "during the storm", "three days ago"];
    private static readonly string[] PastVerbs = ["repaired", "painted", "found", "sold", "borrowed", "photographed", "cleaned", "lost", "measured", "delivered", "replaced", "described"];
    private static readonly string[] PresentVerbs = ["repairs", "paints", "finds", "sells", "borrows", "photographs", "cleans", "loses", "measures", "delivers", "replaces", "describes"];
    private static readonly string[] Adjectives = ["quiet", "enormous", "fragile", "bright", "ancient", "expensive", "broken", "beautiful", "noisy", "tiny", "mysterious", "comfortable", "dusty", "elegant"];
    private static readonly string[] Feelings = ["happy", "worried", "surprised", "relieved", "confused", "excited", "disappointed", "grateful"];
    private static readonly string[] Topics = ["machine learning", "climate change", "quantum computing", "the stock market", "medieval history", "renewable energy", "protein folding", "urban planning", "jazz improvisation", "volcanic eruptions", "deep-sea exploration", "cryptography"];
    private static readonly string[] RareWords = ["photosynthesis", "electroencephalography", "antidisestablishmentarianism", "quintessential", "serendipitous", "onomatopoeia", "xylophonist", "unfathomable", "biodegradability", "counterintuitively"];
    private static readonly string[] AccentedDishes = ["café au lait", "crème brûlée", "jalapeño soup", "piña colada", "cheese soufflé", "pâté", "crêpe"];
    private static readonly string[] AccentedPlaces = ["São Paulo", "Zürich", "Montréal", "Curaçao", "Málaga", "Kraków", "Reykjavík"];
    private static readonly string[] Prices = ["$15", "€3.50", "1,000 dollars", "99 cents", "£42", "twice as much"];
    private static readonly string[] Durations = ["42", "90", "7", "120", "3.5", "15"];
    private static readonly string[] Measures = ["12.5", "-3", "0.5", "38", "100", "21"];

    private static readonly Func<DeterministicRandom, string>[] Templates =
    [
        r => $"{Cap(r.Pick(People))} {r.Pick(PastVerbs)} {r.Pick(Things)} {r.Pick(Places)} {r.Pick(Times)}.",
        r => $"{Cap(r.Pick(Times))}, {r.Pick(People)} {r.Pick(PastVerbs)} {r.Pick(Things)}.",
        r => $"Why did {r.Pick(People)} leave {r.Pick(Things)} {r.Pick(Places)}?",
        r => $"{Cap(r.Pick(People))} {r.Pick(PresentVerbs)} {r.Pick(Adjectives)} things {r.Pick(Places)}.",
        r => $"I can't believe {r.Pick(Things)} was so {r.Pick(Adjectives)}!",
        r => $"Please bring {r.Pick(Things)} to {r.Pick(People)} before {r.Next(12) + 1} o'clock.",
        r => $"The lecture on {r.Pick(Topics)} lasted {r.Pick(Durations)} minutes and everyone felt {r.Pick(Feelings)}.",
        r => $"She wrote a {r.Pick(Adjectives)} essay about {r.Pick(Topics)} and {r.Pick(Topics)}.",
        r => $"Is it true that {r.Pick(People)} studies {r.Pick(Topics)} {r.Pick(Places)}?",
        r => $"We ordered {r.Pick(AccentedDishes)} at a {r.Pick(Adjectives)} restaurant in {r.Pick(AccentedPlaces)}.",
        r => $"The word \"{r.Pick(RareWords)}\" puzzled {r.Pick(People)} {r.Pick(Times)}.",
        r => $"{Cap(r.Pick(People))} was {r.Pick(Feelings)} because {r.Pick(Things)} cost {r.Pick(Prices)}.",
        r => $"Don't forget: {r.Pick(Things)} ({r.Pick(Adjectives)}) must stay {r.Pick(Places)}; {r.Pick(People)} insists.",
        r => $"After reading about {r.Pick(Topics)}, {r.Pick(People)} {r.Pick(PastVerbs)} {r.Pick(Things)} and then {r.Pick(PastVerbs)} {r.Pick(Things)} {r.Pick(Places)}, which made {r.Pick(People)} feel {r.Pick(Feelings)} for the rest of the day.",
        r => $"Temperature: {r.Pick(Measures)} degrees; wind {(r.Chance(0.5) ? "strong" : "calm")}; visibility {(r.Chance(0.5) ? "poor" : "good")} {r.Pick(Places)}.",
        r => $"How many {r.Pick(Adjectives)} lanterns fit inside {r.Pick(Things)}?",
        r => $"{Cap(r.Pick(Topics))} is {r.Pick(Adjectives)}, {r.Pick(Adjectives)} and {(r.Chance(0.5) ? "surprisingly" : "counterintuitively")} {r.Pick(Adjectives)}.",
        r => $"In {r.Pick(AccentedPlaces)}, {r.Pick(People)} met an expert on {r.Pick(Topics)} {r.Pick(Times)} and learned the word \"{r.Pick(RareWords)}\".",
    ];

    /// <summary>The first <paramref name="count"/> distinct sentences of the sequence seeded by <paramref name="seed"/>.</summary>
    public static IReadOnlyList<string> Generate(int count, ulong seed = 20240611)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var random = new DeterministicRandom(seed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var sentences = new List<string>(count);
        for (int attempt = 0; sentences.Count < count; attempt++)
        {
            if (attempt > count * 100)
            {
                throw new InvalidOperationException($"Could not make {count} distinct sentences; the templates allow fewer.");
            }

            // Cycle through the templates so every form appears, with random fillers.
            string sentence = Templates[attempt % Templates.Length](random);
            if (seen.Add(sentence))
            {
                sentences.Add(sentence);
            }
        }

        return sentences;
    }

    private static string Cap(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
