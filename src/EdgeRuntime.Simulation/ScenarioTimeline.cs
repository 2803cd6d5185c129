namespace EdgeRuntime.Simulation;

/// <summary>
/// A scenario's quantities as functions of time: each segment sets its quantities from its time on; a ramped one
/// goes linearly from the value in force to its own by the next segment's time (or the end of the run).
/// </summary>
public sealed class ScenarioTimeline
{
    private readonly Scenario _scenario;
    private readonly List<Piece> _demand = [];
    private readonly List<Piece> _ambient = [];
    private readonly List<(double Start, BurstSpec? Burst)> _bursts = [];

    private readonly record struct Piece(double Start, double End, double From, double To, DemandUnit Unit);

    public ScenarioTimeline(Scenario scenario)
    {
        _scenario = scenario;
        var segments = scenario.Segments;
        double? demand = null, ambient = null;
        for (int i = 0; i < segments.Count; i++)
        {
            var s = segments[i];
            double end = i + 1 < segments.Count ? segments[i + 1].AtSeconds : scenario.DurationSeconds;
            if ((s.Load ?? s.Rate) is double value)
            {
                var unit = s.Load is not null ? DemandUnit.Load : DemandUnit.Rate;
                _demand.Add(s.Ramp && demand is double from ? new Piece(s.AtSeconds, end, from, value, unit) : new Piece(s.AtSeconds, s.AtSeconds, value, value, unit));
                demand = value;
            }
            if (s.AmbientCelsius is double celsius)
            {
                _ambient.Add(s.Ramp && ambient is double from ? new Piece(s.AtSeconds, end, from, celsius, default) : new Piece(s.AtSeconds, s.AtSeconds, celsius, celsius, default));
                ambient = celsius;
            }
            if (s.Burst is not null || s.ClearsBurst)
            {
                _bursts.Add((s.AtSeconds, s.Burst));
            }
        }
    }

    public Scenario Scenario => _scenario;

    /// <summary>The base demand at <paramref name="seconds"/> (before bursts) and its unit.</summary>
    public (double Value, DemandUnit Unit) BaseDemandAt(double seconds)
    {
        var piece = Find(_demand, seconds) ?? throw new InvalidOperationException("the scenario sets no demand at its start");
        return (ValueOf(piece, seconds), piece.Unit);
    }

    /// <summary>The burst multiplier at <paramref name="seconds"/>: the burst's factor in its on-part, else 1.</summary>
    public double BurstFactorAt(double seconds)
    {
        BurstSpec? burst = null;
        double start = 0;
        foreach (var (at, b) in _bursts)
        {
            if (at > seconds)
            {
                break;
            }
            (start, burst) = (at, b);
        }
        if (burst is null)
        {
            return 1;
        }
        double phase = (seconds - start) % burst.PeriodSeconds;
        return phase < burst.OnSeconds ? burst.Factor : 1;
    }

    /// <summary>
    /// Request rate at <paramref name="seconds"/>, bursts included, given the service time on the board of the variant
    /// load is a share of (the reference's, or the lightest's with <see cref="LoadBasis.Lightest"/>).
    /// </summary>
    public double RateAt(double seconds, double loadBasisSeconds)
    {
        var (value, unit) = BaseDemandAt(seconds);
        double rate = unit == DemandUnit.Load ? value / loadBasisSeconds : value;
        return rate * BurstFactorAt(seconds);
    }

    /// <summary>Ambient temperature at <paramref name="seconds"/>; null before any segment sets it (the board's own).</summary>
    public double? AmbientAt(double seconds) => Find(_ambient, seconds) is { } piece ? ValueOf(piece, seconds) : null;

    /// <summary>Index of the segment in force at <paramref name="seconds"/>.</summary>
    public int SegmentAt(double seconds)
    {
        int index = 0;
        for (int i = 0; i < _scenario.Segments.Count && _scenario.Segments[i].AtSeconds <= seconds + 1e-9; i++)
        {
            index = i;
        }
        return index;
    }

    private static Piece? Find(List<Piece> pieces, double seconds)
    {
        Piece? found = null;
        foreach (var piece in pieces)
        {
            if (piece.Start > seconds + 1e-9)
            {
                break;
            }
            found = piece;
        }
        return found;
    }

    private static double ValueOf(Piece piece, double seconds) =>
        seconds >= piece.End || piece.End <= piece.Start
            ? piece.To
            : piece.From + (piece.To - piece.From) * (seconds - piece.Start) / (piece.End - piece.Start);
}
