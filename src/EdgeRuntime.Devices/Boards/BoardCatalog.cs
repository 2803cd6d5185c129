using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeRuntime.Devices.Boards;

/// <summary>
/// The known board descriptors: those built into this assembly (so detection works on an installed device
/// without the repository) and, optionally, those in a devices/ folder, which take precedence by id.
/// </summary>
public sealed class BoardCatalog
{
    public const string GenericLinuxId = "generic-linux";

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        // A misspelt field would otherwise silently fall back to its default.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly Dictionary<string, BoardDescriptor> _boards;

    private BoardCatalog(Dictionary<string, BoardDescriptor> boards) => _boards = boards;

    public IReadOnlyCollection<BoardDescriptor> Boards => _boards.Values;

    /// <summary>The descriptors embedded in EdgeRuntime.Devices.</summary>
    public static BoardCatalog BuiltIn() => new(LoadEmbedded());

    /// <summary>Built-in descriptors, overridden and extended by every devices/*/board.json under <paramref name="devicesDirectory"/>.</summary>
    public static BoardCatalog WithDirectory(string devicesDirectory)
    {
        if (!Directory.Exists(devicesDirectory))
        {
            throw new BoardDescriptorException($"board folder {devicesDirectory} does not exist");
        }
        var boards = LoadEmbedded();
        foreach (string file in Directory.EnumerateFiles(devicesDirectory, "board.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var board = LoadFile(file);
            boards[board.Id] = board;
        }
        return new BoardCatalog(boards);
    }

    public bool TryGet(string id, out BoardDescriptor board) => _boards.TryGetValue(id, out board!);

    public BoardDescriptor Get(string id) => _boards.TryGetValue(id, out var board)
        ? board
        : throw new BoardDescriptorException($"unknown board '{id}'; known: {string.Join(", ", _boards.Keys.Order())}");

    public static BoardDescriptor LoadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BoardDescriptorException($"cannot read board descriptor {path}: {e.Message}", e);
        }
        return Parse(text, path);
    }

    public static BoardDescriptor Parse(string json, string source)
    {
        BoardDescriptor? board;
        try
        {
            board = JsonSerializer.Deserialize<BoardDescriptor>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new BoardDescriptorException($"{source}: not a valid board descriptor: {e.Message}", e);
        }
        if (board is null)
        {
            throw new BoardDescriptorException($"{source}: the descriptor is null");
        }
        board.Validate(source);
        return board;
    }

    private static Dictionary<string, BoardDescriptor> LoadEmbedded()
    {
        var assembly = typeof(BoardCatalog).Assembly;
        var boards = new Dictionary<string, BoardDescriptor>(StringComparer.Ordinal);
        foreach (string name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("boards/", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            var board = Parse(reader.ReadToEnd(), $"built-in {name}");
            boards[board.Id] = board;
        }
        return boards;
    }
}
