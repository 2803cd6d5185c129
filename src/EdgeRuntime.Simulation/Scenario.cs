using System.Globalization;
using System.Text.Json;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Governance;

namespace EdgeRuntime.Simulation;

/// <summary>How requests arrive in a segment: a share of the reference variant's time, or a fixed rate.</summary>
public enum DemandUnit
{
    /// <summary>Share of time the reference variant would be busy at full clock on the board.</summary>
    Load,
    /// <summary>Requests per second.</summary>
    Rate,
}

/// <summary>What a segment's <c>load</c> is a share of.</summary>
public enum LoadBasis
{
    /// <summary>The reference (most accurate) variant's time at full clock: 1.0 keeps it busy all the time.</summary>
    Reference,
    /// <summary>
    /// The lightest (cheapest on the board) variant's time at full clock: how a deployment is sized when the board was
    /// chosen so that its busiest hour fits the cheapest variant it ships; the same story then means the same on any ladder.
    /// </summary>
    Lightest,
}

/// <summary>
/// On/off modulation of the arrival rate (a camera that sees motion): for the first <see cref="OnSeconds"/> of
/// every <see cref="PeriodSeconds"/>, counted from the segment that sets it, the rate is <see cref="Factor"/> times the base.
/// </summary>
public sealed record BurstSpec(double PeriodSeconds, double OnSeconds, double Factor);

/// <summary>One segment of a scenario: the quantities it sets from <see cref="AtSeconds"/> on; null ones carry over.</summary>
public sealed record ScenarioSegment
{
    public double AtSeconds { get; init; }
    public double? Load { get; init; }
    public double? Rate { get; init; }
    public double? AmbientCelsius { get; init; }
    /// <summary>true: mains (or any external supply); false: battery.</summary>
    public bool? ExternalPower { get; init; }
    public double? BatteryPercent { get; init; }
    public bool? FanFailed { get; init; }
    /// <summary>Numeric quantities of this segment go linearly from the value in force to their own by the next segment's time.</summary>
    public bool Ramp { get; init; }
    /// <summary>Set bursts (or, with <see cref="ClearsBurst"/>, end them); null carries over.</summary>
    public BurstSpec? Burst { get; init; }
    public bool ClearsBurst { get; init; }
}

/// <summary>
/// A time-varying run for the simulator: load or rate, ambient temperature, power source, battery charge and fan
/// state over time. Written as JSON (devices/scenarios/README.md, schema: profiles/scenario.schema.json).
/// </summary>
public sealed record Scenario
{
    public required string Name { get; init; }
    public string? Description { get; init; }
    public required string Board { get; init; }
    public double DurationSeconds { get; init; }
    public int Seed { get; init; } = 1;
    public double? SloP95Ms { get; init; }
    /// <summary>What every segment's <c>load</c> is a share of (<c>load_of</c>; default the reference variant).</summary>
    public LoadBasis LoadOf { get; init; } = LoadBasis.Reference;
    /// <summary>
    /// How long the deployment's battery must carry the board (<c>battery_horizon</c>): its autonomy, a property of the
    /// site, not of the board. The governor keeps the projected charge lasting this long; null: the profile's setting.
    /// </summary>
    public double? BatteryHorizonSeconds { get; init; }
    public required IReadOnlyList<ScenarioSegment> Segments { get; init; }

    /// <summary>The board's profile with what the scenario says about the deployment (its battery horizon) in force.</summary>
    public GovernorProfile ApplyTo(GovernorProfile profile) => BatteryHorizonSeconds is double horizon
        ? profile with { Policy = profile.Policy with { BatteryHorizonSeconds = horizon } }
        : profile;

    private static readonly string[] TopFields = ["name", "description", "board", "duration", "seed", "slo_p95_ms", "load_of", "battery_horizon", "segments"];
    private static readonly string[] SegmentFields = ["at", "load", "rate", "ambient_c", "power", "battery_percent", "fan", "ramp", "burst", "note"];
    private static readonly string[] BurstFields = ["every", "on", "factor"];

    public static Scenario Load(string path, BoardCatalog boards)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ScenarioException($"cannot read scenario {path}: {e.Message}");
        }
        return Parse(text, path, boards);
    }

    /// <summary>Parses and checks a scenario; every problem is a <see cref="ScenarioException"/> naming the field and segment.</summary>
    public static Scenario Parse(string json, string source, BoardCatalog boards)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new ScenarioException($"{source}: not valid JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ScenarioException($"{source}: a scenario is a JSON object");
            }
            CheckFields(root, TopFields, $"{source}");
            string name = RequiredString(root, "name", source);
            string board = RequiredString(root, "board", source);
            if (!boards.TryGet(board, out var descriptor))
            {
                throw new ScenarioException($"{source}: unknown board '{board}'; known: {string.Join(", ", boards.Boards.Where(b => b.Simulation is not null).Select(b => b.Id).Order())}");
            }
            if (descriptor.Simulation is null)
            {
                throw new ScenarioException($"{source}: board '{board}' has no simulation parameters");
            }
            if (!root.TryGetProperty("duration", out var durationElement))
            {
                throw new ScenarioException($"{source}: 'duration' is missing (e.g. \"2h\")");
            }
            double duration = ParseTime(durationElement, $"{source}: duration");
            if (duration <= 0 || duration > 2 * 86400)
            {
                throw new ScenarioException($"{source}: duration must be positive and at most two days, got {duration} s");
            }
            int seed = 1;
            if (root.TryGetProperty("seed", out var seedElement))
            {
                if (seedElement.ValueKind != JsonValueKind.Number || !seedElement.TryGetInt32(out seed))
                {
                    throw new ScenarioException($"{source}: seed must be an integer");
                }
            }
            double? slo = null;
            if (root.TryGetProperty("slo_p95_ms", out var sloElement))
            {
                slo = Number(sloElement, $"{source}: slo_p95_ms");
                if (slo <= 0)
                {
                    throw new ScenarioException($"{source}: slo_p95_ms must be positive, got {slo}");
                }
            }
            var loadOf = LoadBasis.Reference;
            if (root.TryGetProperty("load_of", out var loadOfElement))
            {
                loadOf = (loadOfElement.ValueKind == JsonValueKind.String ? loadOfElement.GetString() : null) switch
                {
                    "reference" => LoadBasis.Reference,
                    "lightest" => LoadBasis.Lightest,
                    _ => throw new ScenarioException($"{source}: load_of must be \"reference\" or \"lightest\", got {loadOfElement.GetRawText()}"),
                };
            }
            double? horizon = null;
            if (root.TryGetProperty("battery_horizon", out var horizonElement))
            {
                horizon = ParseTime(horizonElement, $"{source}: battery_horizon");
                if (horizon <= 0 || horizon > 2 * 86400)
                {
                    throw new ScenarioException($"{source}: battery_horizon must be positive and at most two days, got {horizon} s");
                }
                if (descriptor.Simulation.Battery is null)
                {
                    throw new ScenarioException($"{source}: battery_horizon is set, but board '{board}' has no battery in its simulation model");
                }
            }
            string? description = root.TryGetProperty("description", out var d) ? d.GetString() : null;
            if (!root.TryGetProperty("segments", out var segmentsElement) || segmentsElement.ValueKind != JsonValueKind.Array || segmentsElement.GetArrayLength() == 0)
            {
                throw new ScenarioException($"{source}: 'segments' must be a non-empty array");
            }
            var segments = new List<ScenarioSegment>();
            int index = 0;
            foreach (var element in segmentsElement.EnumerateArray())
            {
                index++;
                segments.Add(ParseSegment(element, $"{source}: segment {index}"));
            }
            var scenario = new Scenario
            {
                Name = name, Description = description, Board = board, DurationSeconds = duration, Seed = seed, SloP95Ms = slo, LoadOf = loadOf, Segments = segments,
                BatteryHorizonSeconds = horizon,
            };
            scenario.Check(source, descriptor);
            return scenario;
        }
    }

    /// <summary>Rules across segments: order, first values, ramps with something to ramp from, quantities the board has.</summary>
    private void Check(string source, BoardDescriptor board)
    {
        var sim = board.Simulation!;
        if (Segments[0].AtSeconds != 0)
        {
            throw new ScenarioException($"{source}: segment 1 must start at 0s, not at {Format(Segments[0].AtSeconds)}");
        }
        if (Segments[0].Load is null && Segments[0].Rate is null)
        {
            throw new ScenarioException($"{source}: segment 1 must set load or rate");
        }
        DemandUnit? demand = null;
        bool ambientSet = false;
        for (int i = 0; i < Segments.Count; i++)
        {
            var s = Segments[i];
            string where = $"{source}: segment {i + 1} (at {Format(s.AtSeconds)})";
            if (i > 0 && s.AtSeconds <= Segments[i - 1].AtSeconds)
            {
                throw new ScenarioException($"{where}: time out of order: not after segment {i} at {Format(Segments[i - 1].AtSeconds)}");
            }
            if (s.AtSeconds >= DurationSeconds)
            {
                throw new ScenarioException($"{where}: starts at or after the end of the run ({Format(DurationSeconds)})");
            }
            if (s.Ramp)
            {
                if (s.Load is null && s.Rate is null && s.AmbientCelsius is null)
                {
                    throw new ScenarioException($"{where}: ramp needs a load, rate or ambient_c to ramp to");
                }
                if (s.Load is not null && demand != DemandUnit.Load)
                {
                    throw new ScenarioException($"{where}: ramp on load without a previous value (no earlier segment sets load{(demand == DemandUnit.Rate ? "; the earlier ones set rate" : "")})");
                }
                if (s.Rate is not null && demand != DemandUnit.Rate)
                {
                    throw new ScenarioException($"{where}: ramp on rate without a previous value (no earlier segment sets rate{(demand == DemandUnit.Load ? "; the earlier ones set load" : "")})");
                }
                if (s.AmbientCelsius is not null && !ambientSet)
                {
                    throw new ScenarioException($"{where}: ramp on ambient_c without a previous value (no earlier segment sets ambient_c)");
                }
            }
            if (s.Load is not null)
            {
                demand = DemandUnit.Load;
            }
            if (s.Rate is not null)
            {
                demand = DemandUnit.Rate;
            }
            ambientSet |= s.AmbientCelsius is not null;
            if ((s.ExternalPower == false || s.BatteryPercent is not null) && sim.Battery is null)
            {
                throw new ScenarioException($"{where}: board '{Board}' has no battery in its simulation model");
            }
            if (s.FanFailed is not null && (board.Fan is null || sim.FanConductance <= 0))
            {
                throw new ScenarioException($"{where}: board '{Board}' has no fan in its simulation model (fan_conductance is 0)");
            }
        }
    }

    private static ScenarioSegment ParseSegment(JsonElement element, string where)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new ScenarioException($"{where}: a segment is a JSON object");
        }
        CheckFields(element, SegmentFields, where);
        if (!element.TryGetProperty("at", out var at))
        {
            throw new ScenarioException($"{where}: 'at' is missing (e.g. \"30m\")");
        }
        double atSeconds = ParseTime(at, $"{where}: at");
        if (atSeconds < 0)
        {
            throw new ScenarioException($"{where}: at must not be negative");
        }
        where = $"{where} (at {Format(atSeconds)})";
        double? load = OptionalNumber(element, "load", where);
        double? rate = OptionalNumber(element, "rate", where);
        if (load is not null && rate is not null)
        {
            throw new ScenarioException($"{where}: give load or rate, not both");
        }
        if (load is < 0 or > 2)
        {
            throw new ScenarioException($"{where}: load must be within 0..2 (a share of the reference or, with load_of \"lightest\", the lightest variant's time at full clock), got {load}");
        }
        if (rate < 0)
        {
            throw new ScenarioException($"{where}: rate must not be negative, got {rate}");
        }
        double? ambient = OptionalNumber(element, "ambient_c", where);
        if (ambient is < -40 or > 70)
        {
            throw new ScenarioException($"{where}: ambient_c must be within -40..70 °C, got {ambient}");
        }
        bool? external = OptionalEnum(element, "power", where, ("mains", true), ("battery", false));
        double? battery = OptionalNumber(element, "battery_percent", where);
        if (battery is < 0 or > 100)
        {
            throw new ScenarioException($"{where}: battery_percent must be within 0..100, got {battery}");
        }
        bool? fanFailed = OptionalEnum(element, "fan", where, ("ok", false), ("failed", true));
        bool ramp = false;
        if (element.TryGetProperty("ramp", out var rampElement))
        {
            ramp = rampElement.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new ScenarioException($"{where}: ramp must be true or false"),
            };
        }
        BurstSpec? burst = null;
        bool clears = false;
        if (element.TryGetProperty("burst", out var burstElement))
        {
            if (burstElement.ValueKind is JsonValueKind.False or JsonValueKind.Null)
            {
                clears = true;
            }
            else if (burstElement.ValueKind == JsonValueKind.Object)
            {
                CheckFields(burstElement, BurstFields, $"{where}: burst");
                double every = burstElement.TryGetProperty("every", out var e) ? ParseTime(e, $"{where}: burst.every") : throw new ScenarioException($"{where}: burst.every is missing");
                double on = burstElement.TryGetProperty("on", out var o) ? ParseTime(o, $"{where}: burst.on") : throw new ScenarioException($"{where}: burst.on is missing");
                double factor = burstElement.TryGetProperty("factor", out var f) ? Number(f, $"{where}: burst.factor") : throw new ScenarioException($"{where}: burst.factor is missing");
                if (!(every > 0 && on > 0 && on < every))
                {
                    throw new ScenarioException($"{where}: burst needs 0 < on < every, got on {Format(on)} every {Format(every)}");
                }
                if (factor is < 1 or > 100)
                {
                    throw new ScenarioException($"{where}: burst.factor must be within 1..100, got {factor}");
                }
                burst = new BurstSpec(every, on, factor);
            }
            else
            {
                throw new ScenarioException($"{where}: burst must be an object {{\"every\", \"on\", \"factor\"}} or false");
            }
        }
        return new ScenarioSegment
        {
            AtSeconds = atSeconds, Load = load, Rate = rate, AmbientCelsius = ambient, ExternalPower = external, BatteryPercent = battery,
            FanFailed = fanFailed, Ramp = ramp, Burst = burst, ClearsBurst = clears,
        };
    }

    private static void CheckFields(JsonElement element, string[] known, string where)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (!known.Contains(property.Name, StringComparer.Ordinal))
            {
                throw new ScenarioException($"{where}: unknown field '{property.Name}' (known: {string.Join(", ", known)})");
            }
        }
    }

    private static string RequiredString(JsonElement element, string name, string where) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(value.GetString())
            ? value.GetString()!
            : throw new ScenarioException($"{where}: '{name}' must be a non-empty string");

    private static double? OptionalNumber(JsonElement element, string name, string where) =>
        element.TryGetProperty(name, out var value) ? Number(value, $"{where}: {name}") : null;

    private static double Number(JsonElement value, string where) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double number) && double.IsFinite(number)
            ? number
            : throw new ScenarioException($"{where} must be a number, got {value.GetRawText()}");

    private static bool? OptionalEnum(JsonElement element, string name, string where, params (string Text, bool Value)[] values)
    {
        if (!element.TryGetProperty(name, out var value))
        {
            return null;
        }
        string? text = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        foreach (var (t, v) in values)
        {
            if (t == text)
            {
                return v;
            }
        }
        throw new ScenarioException($"{where}: {name} must be {string.Join(" or ", values.Select(v => $"\"{v.Text}\""))}, got {value.GetRawText()}");
    }

    /// <summary>A time: "90s", "30m", "2h", "1h30m", or a number of seconds.</summary>
    public static double ParseTime(JsonElement value, string where)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double seconds))
        {
            return seconds;
        }
        if (value.ValueKind == JsonValueKind.String && TryParseTime(value.GetString()!, out seconds))
        {
            return seconds;
        }
        throw new ScenarioException($"{where}: expected a time such as \"90s\", \"30m\", \"2h\" or \"1h30m\", got {value.GetRawText()}");
    }

    public static bool TryParseTime(string text, out double seconds)
    {
        seconds = 0;
        text = text.Trim();
        if (text.Length == 0)
        {
            return false;
        }
        int start = 0;
        bool any = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c is 'h' or 'm' or 's')
            {
                if (!double.TryParse(text.AsSpan(start, i - start), NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value < 0)
                {
                    return false;
                }
                seconds += value * (c == 'h' ? 3600 : c == 'm' ? 60 : 1);
                start = i + 1;
                any = true;
            }
        }
        return any && start == text.Length;
    }

    public static string Format(double seconds)
    {
        if (seconds % 3600 == 0 && seconds > 0)
        {
            return $"{seconds / 3600:0}h";
        }
        if (seconds % 60 == 0 && seconds > 0)
        {
            return $"{seconds / 60:0}m";
        }
        return string.Create(CultureInfo.InvariantCulture, $"{seconds:0.###}s");
    }
}

public sealed class ScenarioException(string message) : Exception(message);
