namespace EdgeRuntime.Zoo;

/// <summary>
/// A small stroke "font" drawn with lines and arcs, since no font may be installed: Latin-like
/// lower-case letters, a few capitals, digits and punctuation. Coordinates are in a unit box per
/// glyph: x from 0 (left) to 1 (advance), y from 0 (ascender top) down to 1 (descender bottom), so
/// text has the up/down asymmetry (x-height body on a baseline, more ascenders than descenders,
/// marks at the baseline) that a text direction classifier looks at.
/// </summary>
internal static class StrokeGlyphs
{
    public const double Ascender = 0.12;
    public const double XHeight = 0.40;
    public const double Baseline = 0.74;
    public const double Descender = 0.96;

    private const double BowlY = (XHeight + Baseline) / 2;
    private const double BowlRy = (Baseline - XHeight) / 2;
    private const double ArchY = XHeight + 0.11;

    /// <summary>Letters in rough English frequency order; earlier ones are picked more often.</summary>
    public const string Letters = "etaoinshrdlcumwfgypbvkxjqz";

    public static IReadOnlyList<(double X, double Y)[]> Get(char glyph) => glyph switch
    {
        'o' => [Bowl()],
        'a' => [Bowl(), Line(0.88, XHeight, 0.88, Baseline)],
        'b' => [Line(0.12, Ascender, 0.12, Baseline), Bowl()],
        'd' => [Line(0.88, Ascender, 0.88, Baseline), Bowl()],
        'p' => [Line(0.12, XHeight, 0.12, Descender), Bowl()],
        'q' => [Line(0.88, XHeight, 0.88, Descender), Bowl()],
        'g' => [Bowl(), Line(0.88, XHeight, 0.88, 0.86), Arc(0.5, 0.86, 0.38, 0.08, 0, 160)],
        'l' => [Line(0.5, Ascender, 0.5, Baseline)],
        'i' => [Line(0.5, XHeight, 0.5, Baseline), Line(0.5, 0.25, 0.5, 0.28)],
        'j' => [Line(0.62, XHeight, 0.62, 0.86), Arc(0.38, 0.86, 0.24, 0.08, 0, 170), Line(0.62, 0.25, 0.62, 0.28)],
        'n' => [Line(0.12, XHeight, 0.12, Baseline), Arc(0.5, ArchY, 0.38, 0.11, 180, 360), Line(0.88, ArchY, 0.88, Baseline)],
        'h' => [Line(0.12, Ascender, 0.12, Baseline), Arc(0.5, ArchY, 0.38, 0.11, 180, 360), Line(0.88, ArchY, 0.88, Baseline)],
        'm' =>
        [
            Line(0.08, XHeight, 0.08, Baseline), Arc(0.29, ArchY, 0.21, 0.11, 180, 360), Line(0.5, ArchY, 0.5, Baseline),
            Arc(0.71, ArchY, 0.21, 0.11, 180, 360), Line(0.92, ArchY, 0.92, Baseline),
        ],
        'u' => [Line(0.12, XHeight, 0.12, Baseline - 0.11), Arc(0.5, Baseline - 0.11, 0.38, 0.11, 0, 180), Line(0.88, XHeight, 0.88, Baseline)],
        'r' => [Line(0.18, XHeight, 0.18, Baseline), Arc(0.58, ArchY, 0.4, 0.11, 180, 300)],
        't' => [Line(0.45, 0.2, 0.45, Baseline - 0.06), Arc(0.65, Baseline - 0.06, 0.2, 0.06, 180, 90), Line(0.12, XHeight, 0.82, XHeight)],
        'f' => [Arc(0.72, 0.24, 0.27, 0.11, 0, -160), Line(0.45, 0.24, 0.45, Baseline), Line(0.12, XHeight, 0.82, XHeight)],
        'k' => [Line(0.15, Ascender, 0.15, Baseline), Line(0.85, XHeight, 0.15, 0.62), Line(0.42, 0.53, 0.88, Baseline)],
        'v' => [Line(0.1, XHeight, 0.5, Baseline), Line(0.5, Baseline, 0.9, XHeight)],
        'w' => [Line(0.04, XHeight, 0.27, Baseline), Line(0.27, Baseline, 0.5, XHeight + 0.06), Line(0.5, XHeight + 0.06, 0.73, Baseline), Line(0.73, Baseline, 0.96, XHeight)],
        'x' => [Line(0.1, XHeight, 0.9, Baseline), Line(0.9, XHeight, 0.1, Baseline)],
        'y' => [Line(0.1, XHeight, 0.5, Baseline), Line(0.9, XHeight, 0.3, Descender)],
        'z' => [Line(0.12, XHeight, 0.88, XHeight), Line(0.88, XHeight, 0.12, Baseline), Line(0.12, Baseline, 0.88, Baseline)],
        'e' => [Line(0.12, BowlY, 0.88, BowlY), Arc(0.5, BowlY, 0.38, BowlRy, 0, -310)],
        'c' => [Arc(0.5, BowlY, 0.38, BowlRy, -45, -315)],
        's' => [Arc(0.5, XHeight + BowlRy / 2, 0.33, BowlRy / 2, -20, -270), Arc(0.5, Baseline - BowlRy / 2, 0.33, BowlRy / 2, -90, 160)],
        'T' => [Line(0.05, Ascender, 0.95, Ascender), Line(0.5, Ascender, 0.5, Baseline)],
        'H' => [Line(0.12, Ascender, 0.12, Baseline), Line(0.88, Ascender, 0.88, Baseline), Line(0.12, 0.43, 0.88, 0.43)],
        'E' => [Line(0.15, Ascender, 0.15, Baseline), Line(0.15, Ascender, 0.85, Ascender), Line(0.15, 0.43, 0.75, 0.43), Line(0.15, Baseline, 0.85, Baseline)],
        'L' => [Line(0.15, Ascender, 0.15, Baseline), Line(0.15, Baseline, 0.85, Baseline)],
        'P' => [Line(0.15, Ascender, 0.15, Baseline), Arc(0.15, 0.27, 0.65, 0.15, -90, 90)],
        'D' => [Line(0.15, Ascender, 0.15, Baseline), Arc(0.15, 0.43, 0.72, 0.31, -90, 90)],
        'A' => [Line(0.08, Baseline, 0.5, Ascender), Line(0.5, Ascender, 0.92, Baseline), Line(0.26, 0.52, 0.74, 0.52)],
        '1' => [Line(0.3, 0.22, 0.55, Ascender), Line(0.55, Ascender, 0.55, Baseline)],
        '4' => [Line(0.65, Baseline, 0.65, Ascender), Line(0.65, Ascender, 0.1, 0.55), Line(0.1, 0.55, 0.9, 0.55)],
        '7' => [Line(0.1, Ascender, 0.9, Ascender), Line(0.9, Ascender, 0.35, Baseline)],
        '2' => [Arc(0.5, 0.28, 0.36, 0.16, -170, 30), Line(0.8, 0.36, 0.12, Baseline), Line(0.12, Baseline, 0.9, Baseline)],
        '.' => [Line(0.5, Baseline - 0.03, 0.5, Baseline)],
        ',' => [Line(0.55, Baseline - 0.03, 0.4, Baseline + 0.1)],
        _ => [],
    };

    /// <summary>Advance width of a glyph relative to a normal letter.</summary>
    public static double AdvanceOf(char glyph) => glyph switch
    {
        'i' or 'l' or 'j' or '.' or ',' or '1' => 0.45,
        't' or 'f' or 'r' => 0.7,
        'm' or 'w' => 1.35,
        >= 'A' and <= 'Z' => 1.1,
        _ => 1.0,
    };

    private static (double X, double Y)[] Bowl() => Arc(0.5, BowlY, 0.38, BowlRy, 0, 360);

    private static (double X, double Y)[] Line(double x0, double y0, double x1, double y1) => [(x0, y0), (x1, y1)];

    /// <summary>An elliptic arc; angles in degrees, 0 pointing right and 90 down (y grows downwards).</summary>
    private static (double X, double Y)[] Arc(double cx, double cy, double rx, double ry, double fromDegrees, double toDegrees)
    {
        int steps = Math.Max(4, (int)(Math.Abs(toDegrees - fromDegrees) / 15));
        var points = new (double, double)[steps + 1];
        for (int i = 0; i <= steps; i++)
        {
            double angle = (fromDegrees + (toDegrees - fromDegrees) * i / steps) * Math.PI / 180;
            points[i] = (cx + rx * Math.Cos(angle), cy + ry * Math.Sin(angle));
        }

        return points;
    }
}
