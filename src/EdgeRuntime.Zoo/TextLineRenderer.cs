using System.Text;
using EdgeRuntime.Data;

namespace EdgeRuntime.Zoo;

/// <summary>
/// Draws a line of text-like glyphs (from <see cref="StrokeGlyphs"/>) with anti-aliased strokes:
/// random words, size, slant, stroke width, ink and paper colours, a light gradient and pixel
/// noise, like a cropped line of a photographed document.
/// </summary>
internal static class TextLineRenderer
{
    public const int Height = 48;

    /// <summary>An RGB image, height <see cref="Height"/>, row-major [y, x, channel].</summary>
    public sealed record LineImage(byte[] Pixels, int Width, string Text);

    public static LineImage Render(DeterministicRandom random, int maxWidth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWidth, 32);
        double box = random.Between(30, 44);
        double top = random.Between(0, Height - box);
        double advance = box * random.Between(0.42, 0.58);
        double stroke = Math.Max(1.2, box * random.Between(0.045, 0.085));
        double slant = random.Between(-0.12, 0.22);
        double x = random.Between(1, 6);
        double targetWidth = random.Between(Math.Min(72, maxWidth), maxWidth);

        var coverage = new float[Height * maxWidth];
        var text = new StringBuilder();
        bool wordStart = true;
        int lettersInWord = 0;
        int wordLength = random.NextInclusive(1, 8);
        while (true)
        {
            char glyph = NextGlyph(random, wordStart, ref lettersInWord, ref wordLength);
            double width = glyph == ' ' ? advance * 0.6 : advance * StrokeGlyphs.AdvanceOf(glyph) * random.Between(0.9, 1.1);
            if (x + width + 2 > targetWidth)
            {
                break;
            }

            if (glyph != ' ')
            {
                foreach (var polyline in StrokeGlyphs.Get(glyph))
                {
                    DrawPolyline(coverage, maxWidth, polyline, x, top, width * 0.82, box, slant, stroke);
                }
            }

            text.Append(glyph);
            wordStart = glyph == ' ';
            x += width + advance * 0.12;
        }

        int lineWidth = Math.Clamp((int)Math.Ceiling(x + random.Between(1, 6)), 16, maxWidth);
        return new LineImage(Paint(random, coverage, maxWidth, lineWidth), lineWidth, text.ToString().TrimEnd());
    }

    /// <summary>The image turned by 180 degrees.</summary>
    public static LineImage Rotate180(LineImage image)
    {
        var rotated = new byte[image.Pixels.Length];
        int w = image.Width;
        for (int y = 0; y < Height; y++)
        {
            for (int x = 0; x < w; x++)
            {
                int from = ((y * w) + x) * 3;
                int to = (((Height - 1 - y) * w) + (w - 1 - x)) * 3;
                rotated[to] = image.Pixels[from];
                rotated[to + 1] = image.Pixels[from + 1];
                rotated[to + 2] = image.Pixels[from + 2];
            }
        }

        return image with { Pixels = rotated };
    }

    private static char NextGlyph(DeterministicRandom random, bool wordStart, ref int lettersInWord, ref int wordLength)
    {
        if (lettersInWord >= wordLength)
        {
            lettersInWord = 0;
            wordLength = random.NextInclusive(1, 8);
            // Punctuation sits on the baseline at word ends.
            return random.Chance(0.15) ? (random.Chance(0.5) ? '.' : ',') : ' ';
        }

        lettersInWord++;
        if (wordStart && random.Chance(0.2))
        {
            return "THELPDA"[random.Next(7)];
        }

        if (random.Chance(0.04))
        {
            return "1247"[random.Next(4)];
        }

        // Squaring a uniform draw favours the frequent letters at the front of the list.
        double u = random.NextDouble();
        return StrokeGlyphs.Letters[(int)(u * u * StrokeGlyphs.Letters.Length)];
    }

    private static void DrawPolyline(float[] coverage, int stride, (double X, double Y)[] points, double left, double top, double width, double height, double slant, double stroke)
    {
        for (int i = 0; i + 1 < points.Length; i++)
        {
            var (x0, y0) = ToPixels(points[i], left, top, width, height, slant);
            var (x1, y1) = ToPixels(points[i + 1], left, top, width, height, slant);
            DrawSegment(coverage, stride, x0, y0, x1, y1, stroke / 2);
        }
    }

    private static (double X, double Y) ToPixels((double X, double Y) point, double left, double top, double width, double height, double slant)
    {
        double y = top + point.Y * height;
        // Slant leans letters right above the baseline, like italics.
        double x = left + point.X * width + slant * (StrokeGlyphs.Baseline - point.Y) * height;
        return (x, y);
    }

    private static void DrawSegment(float[] coverage, int stride, double x0, double y0, double x1, double y1, double halfWidth)
    {
        int minX = Math.Max(0, (int)Math.Floor(Math.Min(x0, x1) - halfWidth - 1));
        int maxX = Math.Min(stride - 1, (int)Math.Ceiling(Math.Max(x0, x1) + halfWidth + 1));
        int minY = Math.Max(0, (int)Math.Floor(Math.Min(y0, y1) - halfWidth - 1));
        int maxY = Math.Min(Height - 1, (int)Math.Ceiling(Math.Max(y0, y1) + halfWidth + 1));
        double dx = x1 - x0, dy = y1 - y0;
        double lengthSquared = dx * dx + dy * dy;
        for (int py = minY; py <= maxY; py++)
        {
            for (int px = minX; px <= maxX; px++)
            {
                double cx = px + 0.5, cy = py + 0.5;
                double t = lengthSquared > 0 ? Math.Clamp(((cx - x0) * dx + (cy - y0) * dy) / lengthSquared, 0, 1) : 0;
                double ex = x0 + t * dx - cx, ey = y0 + t * dy - cy;
                double distance = Math.Sqrt(ex * ex + ey * ey);
                float value = (float)Math.Clamp(halfWidth + 0.5 - distance, 0, 1);
                int index = py * stride + px;
                if (value > coverage[index])
                {
                    coverage[index] = value;
                }
            }
        }
    }

    private static byte[] Paint(DeterministicRandom random, float[] coverage, int stride, int width)
    {
        var paper = new double[3];
        var ink = new double[3];
        double paperBase = random.Between(175, 250);
        double inkBase = random.Between(5, 90);
        for (int c = 0; c < 3; c++)
        {
            paper[c] = Math.Clamp(paperBase + random.Between(-12, 12), 0, 255);
            ink[c] = Math.Clamp(inkBase + random.Between(-20, 20), 0, 255);
        }

        double gradient = random.Between(-25, 25);
        double noise = random.Between(2, 9);
        var pixels = new byte[Height * width * 3];
        for (int y = 0; y < Height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                double alpha = coverage[y * stride + x] * 0.92;
                double shade = gradient * ((double)x / width - 0.5);
                for (int c = 0; c < 3; c++)
                {
                    double value = (paper[c] + shade) * (1 - alpha) + ink[c] * alpha + noise * random.NextGaussian();
                    pixels[((y * width) + x) * 3 + c] = (byte)Math.Clamp(Math.Round(value), 0, 255);
                }
            }
        }

        return pixels;
    }
}
