using System.Globalization;
using System.Net;
using System.Text;

namespace ConnMsg.Load.Reporting;

/// <summary>Self-contained inline SVG charts: no script, no fonts or styles from the network.</summary>
public static class SvgChart
{
    private const int Width = 760;
    private const int Height = 300;
    private const int Left = 76;
    private const int Right = 16;
    private const int Top = 34;
    private const int Bottom = 46;

    /// <summary>The colours used for series, in order.</summary>
    public static readonly string[] Palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"];

    /// <summary>A line chart. <paramref name="xTicks"/> replaces the automatic x ticks (used for percentile axes).</summary>
    public static string Line(string title, string xLabel, string yLabel, IReadOnlyList<ChartSeries> series, IReadOnlyList<(double X, string Label)>? xTicks = null)
    {
        var finite = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        var svg = Begin(title);
        if (finite.Count == 0)
        {
            svg.Append(Text(Width / 2, Height / 2, "no data", "middle"));
            return End(svg);
        }

        double xMin = xTicks?.Min(t => t.X) ?? finite.Min(p => p.X);
        double xMax = xTicks?.Max(t => t.X) ?? finite.Max(p => p.X);
        if (xMax <= xMin)
        {
            xMax = xMin + 1;
        }

        double yMax = NiceCeiling(finite.Max(p => p.Y));
        double X(double x) => Left + ((x - xMin) / (xMax - xMin) * (Width - Left - Right));
        double Y(double y) => Height - Bottom - (y / yMax * (Height - Top - Bottom));

        Axes(svg, yMax, xLabel, yLabel);
        bool integral = finite.All(p => p.X == Math.Floor(p.X));
        foreach ((double x, string label) in xTicks ?? AutoTicks(xMin, xMax, integral))
        {
            svg.Append(CultureInfo.InvariantCulture, $"<line x1='{X(x):0.#}' y1='{Height - Bottom}' x2='{X(x):0.#}' y2='{Height - Bottom + 4}' stroke='#333'/>");
            svg.Append(Text(X(x), Height - Bottom + 16, label, "middle"));
        }

        for (int i = 0; i < series.Count; i++)
        {
            ChartSeries s = series[i];
            var path = new StringBuilder();
            bool penDown = false;
            foreach ((double x, double y) in s.Points)
            {
                if (!double.IsFinite(x) || !double.IsFinite(y))
                {
                    penDown = false;
                    continue;
                }

                path.Append(CultureInfo.InvariantCulture, $"{(penDown ? 'L' : 'M')}{X(x):0.#},{Y(y):0.#} ");
                penDown = true;
            }

            svg.Append(CultureInfo.InvariantCulture, $"<path d='{path}' fill='none' stroke='{s.Color}' stroke-width='1.8'/>");
            if (s.Points.Count <= 400)
            {
                foreach ((double x, double y) in s.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)))
                {
                    svg.Append(CultureInfo.InvariantCulture,
                        $"<circle cx='{X(x):0.#}' cy='{Y(y):0.#}' r='2.2' fill='{s.Color}'><title>{Esc(s.Name)}: {Format.Number(y)} at {Format.Number(x)}</title></circle>");
                }
            }

            Legend(svg, i, s.Name, s.Color);
        }

        return End(svg);
    }

    /// <summary>A grouped bar chart; each bar is labelled with its value.</summary>
    public static string Bars(string title, string yLabel, IReadOnlyList<BarGroup> groups)
    {
        var values = groups.SelectMany(g => g.Bars).Select(b => b.Value).Where(double.IsFinite).ToList();
        var svg = Begin(title);
        if (values.Count == 0)
        {
            svg.Append(Text(Width / 2, Height / 2, "no data", "middle"));
            return End(svg);
        }

        double yMax = NiceCeiling(values.Max());
        double Y(double y) => Height - Bottom - (y / yMax * (Height - Top - Bottom));
        Axes(svg, yMax, "", yLabel);
        double groupWidth = (double)(Width - Left - Right) / groups.Count;
        var legend = new List<(string, string)>();
        for (int g = 0; g < groups.Count; g++)
        {
            BarGroup group = groups[g];
            double barWidth = Math.Min(60, (groupWidth * 0.8) / Math.Max(1, group.Bars.Count));
            double x0 = Left + (g * groupWidth) + ((groupWidth - (barWidth * group.Bars.Count)) / 2);
            for (int b = 0; b < group.Bars.Count; b++)
            {
                (string name, double value, string color) = group.Bars[b];
                if (!legend.Any(l => l.Item1 == name))
                {
                    legend.Add((name, color));
                }

                if (!double.IsFinite(value))
                {
                    continue;
                }

                double x = x0 + (b * barWidth);
                svg.Append(CultureInfo.InvariantCulture,
                    $"<rect x='{x + 2:0.#}' y='{Y(value):0.#}' width='{barWidth - 4:0.#}' height='{Height - Bottom - Y(value):0.#}' fill='{color}'><title>{Esc(name)}: {Format.Number(value)}</title></rect>");
                svg.Append(Text(x + (barWidth / 2), Y(value) - 3, Format.Number(value), "middle", 10));
            }

            svg.Append(Text(Left + (g * groupWidth) + (groupWidth / 2), Height - Bottom + 16, group.Category, "middle"));
        }

        for (int i = 0; i < legend.Count; i++)
        {
            Legend(svg, i, legend[i].Item1, legend[i].Item2);
        }

        return End(svg);
    }

    /// <summary>Ticks at the nice percentiles for an x axis of −log10(1 − p/100).</summary>
    public static IReadOnlyList<(double X, string Label)> PercentileTicks { get; } =
        [(0, "0%"), (1, "90%"), (2, "99%"), (3, "99.9%"), (4, "99.99%"), (5, "99.999%")];

    /// <summary>Maps a percentile to the x axis of <see cref="PercentileTicks"/>.</summary>
    public static double PercentileX(double percentile) => -Math.Log10(Math.Max(1 - (percentile / 100), 1e-5));

    private static StringBuilder Begin(string title)
    {
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture,
            $"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {Width} {Height}' width='{Width}' height='{Height}' font-family='sans-serif' font-size='11' role='img'>");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width='{Width}' height='{Height}' fill='#fff'/>");
        svg.Append(Text(Left, 18, title, "start", 13, "bold"));
        return svg;
    }

    private static string End(StringBuilder svg) => svg.Append("</svg>").ToString();

    private static void Axes(StringBuilder svg, double yMax, string xLabel, string yLabel)
    {
        for (int i = 0; i <= 5; i++)
        {
            double value = yMax * i / 5;
            double y = Height - Bottom - ((Height - Top - Bottom) * i / 5.0);
            svg.Append(CultureInfo.InvariantCulture, $"<line x1='{Left}' y1='{y:0.#}' x2='{Width - Right}' y2='{y:0.#}' stroke='#e4e4e4'/>");
            svg.Append(Text(Left - 6, y + 4, Format.Number(value), "end"));
        }

        svg.Append(CultureInfo.InvariantCulture, $"<line x1='{Left}' y1='{Height - Bottom}' x2='{Width - Right}' y2='{Height - Bottom}' stroke='#333'/>");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1='{Left}' y1='{Top}' x2='{Left}' y2='{Height - Bottom}' stroke='#333'/>");
        svg.Append(Text((Left + Width - Right) / 2.0, Height - 8, xLabel, "middle"));
        svg.Append(CultureInfo.InvariantCulture,
            $"<text x='14' y='{(Top + Height - Bottom) / 2}' transform='rotate(-90 14 {(Top + Height - Bottom) / 2})' text-anchor='middle'>{Esc(yLabel)}</text>");
    }

    private static void Legend(StringBuilder svg, int index, string name, string color)
    {
        double x = Width - Right - 170;
        double y = Top + 4 + (index * 15);
        svg.Append(CultureInfo.InvariantCulture, $"<rect x='{x}' y='{y}' width='10' height='10' fill='{color}'/>");
        svg.Append(Text(x + 14, y + 9, name, "start"));
    }

    private static IEnumerable<(double, string)> AutoTicks(double min, double max, bool integral)
    {
        // Seconds are whole numbers: a tick at 2.5 s would label a point that does not exist.
        double step = integral ? Math.Max(1, NiceStep((max - min) / 8)) : NiceStep((max - min) / 8);
        for (double x = Math.Ceiling(min / step) * step; x <= max + (step / 1000); x += step)
        {
            yield return (x, integral ? x.ToString("0", CultureInfo.InvariantCulture) : Format.Number(x));
        }
    }

    private static double NiceCeiling(double max)
    {
        if (max <= 0 || !double.IsFinite(max))
        {
            return 1;
        }

        double step = NiceStep(max / 5);
        return Math.Ceiling(max / step) * step;
    }

    private static double NiceStep(double rough)
    {
        if (rough <= 0)
        {
            return 1;
        }

        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        double n = rough / magnitude;
        return magnitude * (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10);
    }

    private static string Text(double x, double y, string text, string anchor, int size = 11, string weight = "normal") =>
        string.Create(CultureInfo.InvariantCulture,
            $"<text x='{x:0.#}' y='{y:0.#}' text-anchor='{anchor}' font-size='{size}' font-weight='{weight}'>{Esc(text)}</text>");

    private static string Esc(string text) => WebUtility.HtmlEncode(text);
}
