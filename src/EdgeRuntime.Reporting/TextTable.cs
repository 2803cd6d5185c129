namespace EdgeRuntime.Reporting;

/// <summary>Left-aligned text columns, like the tables of ncnn's benchncnn or `docker ps`.</summary>
public sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void Add(params object?[] cells) =>
        _rows.Add([.. cells.Select(c => c switch
        {
            null => "-",
            double d when double.IsNaN(d) => "-",
            double d => d.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture),
            IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
            _ => c.ToString() ?? "",
        })]);

    public void WriteTo(TextWriter writer)
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r[i].Length))).ToArray();
        writer.WriteLine(string.Join("  ", headers.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        foreach (var row in _rows)
        {
            writer.WriteLine(string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        }
    }
}
