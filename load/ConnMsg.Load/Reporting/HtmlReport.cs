using System.Globalization;
using System.Net;
using System.Text;

namespace ConnMsg.Load.Reporting;

/// <summary>Self-contained HTML reports: inline CSS and SVG, nothing fetched from anywhere.</summary>
public static class HtmlReport
{
    /// <summary>The page for one run.</summary>
    public static string ForRun(ScenarioResult result) =>
        Page($"{result.Scenario} — {result.Label}", RunSection(result, headingLevel: 1));

    /// <summary>Wraps <paramref name="body"/> in a complete HTML document.</summary>
    public static string Page(string title, string body)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>").Append(Esc(title)).Append("</title>");
        html.Append("<style>body{font-family:sans-serif;margin:24px;max-width:1600px;color:#222}")
            .Append("table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}")
            .Append("th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:12px}")
            .Append("svg{border:1px solid #ddd}code{background:#f5f5f5;padding:1px 4px}.note{color:#8a4b00}.good{color:#0a6b0a}.bad{color:#a00}</style>");
        html.Append("</head><body>").Append(body).Append("</body></html>");
        return html.ToString();
    }

    /// <summary>Parameters, metrics, notes and the per-second and distribution charts of one run.</summary>
    /// <param name="result">The run.</param>
    /// <param name="headingLevel">The level of its heading.</param>
    /// <param name="qualifier">Added to the heading in brackets, e.g. the bench's round; null for none.</param>
    public static string RunSection(ScenarioResult result, int headingLevel, string? qualifier = null)
    {
        var html = new StringBuilder();
        string heading = qualifier is null ? $"{result.Scenario} — {result.Label}" : $"{result.Scenario} — {result.Label} ({qualifier})";
        html.Append(CultureInfo.InvariantCulture, $"<h{headingLevel}>{Esc(heading)}</h{headingLevel}>");
        html.Append("<p>Target <code>").Append(Esc(result.Target)).Append("</code>, measured from ")
            .Append(result.StartedUtc.ToString("u", CultureInfo.InvariantCulture)).Append(". Latency: ").Append(Esc(result.LatencyMeaning)).Append(".<br>Parameters: ");
        html.AppendJoin(", ", result.Parameters.Select(p => $"<code>{Esc(p.Key)}={Esc(p.Value)}</code>")).Append("</p>");
        html.Append("<table><tr><th>metric</th><th>value</th><th>unit</th></tr>");
        foreach (Metric m in result.Metrics)
        {
            html.Append("<tr><td>").Append(Esc(m.Name)).Append("</td><td>").Append(Format.Number(m.Value)).Append("</td><td>").Append(Esc(m.Unit)).Append("</td></tr>");
        }

        html.Append("</table>");
        foreach (string note in result.Notes)
        {
            html.Append("<p class='note'>").Append(Esc(note)).Append("</p>");
        }

        html.Append("<div class='charts'>").Append(Charts(result)).Append("</div>");
        return html.ToString();
    }

    /// <summary>The charts of one run.</summary>
    public static string Charts(ScenarioResult result)
    {
        var charts = new StringBuilder();
        List<TimelinePoint> t = result.Timeline;
        charts.Append(SvgChart.Line($"Throughput per second ({result.OperationUnit})", "second of measured window", result.OperationUnit,
            [new ChartSeries(result.OperationUnit, SvgChart.Palette[0], t.Select(p => ((double)p.Second, (double)p.Count)).ToList())]));
        charts.Append(SvgChart.Line("Latency per second (µs)", "second of measured window", "µs",
        [
            new ChartSeries("p50", SvgChart.Palette[0], t.Select(p => ((double)p.Second, p.P50Us)).ToList()),
            new ChartSeries("p99", SvgChart.Palette[1], t.Select(p => ((double)p.Second, p.P99Us)).ToList()),
        ]));
        charts.Append(SvgChart.Line("Latency distribution (µs by percentile)", "percentile", "µs",
            [new ChartSeries(result.Label, SvgChart.Palette[2], result.Distribution.Where(d => d.Percentile < 100).Select(d => (SvgChart.PercentileX(d.Percentile), d.LatencyUs)).ToList())],
            SvgChart.PercentileTicks));
        if (t.Any(p => double.IsFinite(p.ServerRssMb)))
        {
            charts.Append(SvgChart.Line("Server resident memory (MiB)", "second of measured window", "MiB",
                [new ChartSeries("RSS", SvgChart.Palette[4], t.Select(p => ((double)p.Second, p.ServerRssMb)).ToList())]));
        }

        charts.Append(SvgChart.Line("CPU (% of one core)", "second of measured window", "%",
        [
            new ChartSeries("server", SvgChart.Palette[3], t.Select(p => ((double)p.Second, p.ServerCpuPercent)).ToList()),
            new ChartSeries("driver", SvgChart.Palette[5], t.Select(p => ((double)p.Second, p.DriverCpuPercent)).ToList()),
        ]));
        return charts.ToString();
    }

    /// <summary>HTML-encodes text.</summary>
    public static string Esc(string text) => WebUtility.HtmlEncode(text);
}
