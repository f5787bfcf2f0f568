using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using ConnMsg.Load.Reporting;

namespace ConnMsg.Load.Bench;

/// <summary>The bench's one report over all runs: <c>bench.md</c>, <c>bench.html</c>, <c>bench.csv</c>.</summary>
public static class CombinedReport
{
    private static readonly string[] s_echoKeys = ["throughput", "p50_us", "p99_us", "p999_us", "server_cpu_pct", "server_cpu_us_per_op", "driver_cpu_pct", "other_cpu_pct", "errors"];
    private static readonly string[] s_fanoutKeys = ["throughput", "publishes_per_s", "p50_us", "p99_us", "lost", "out_of_order", "subscribers_closed", "server_cpu_pct", "server_cpu_us_per_op", "driver_cpu_pct", "other_cpu_pct"];
    private static readonly string[] s_connectKeys = ["throughput", "p50_us", "p99_us", "connections_held", "rss_per_conn_kb", "rss_after_mb", "server_cpu_us_per_op", "driver_cpu_pct", "other_cpu_pct", "errors"];

    /// <summary>Writes the three files into the bench's folder.</summary>
    public static void Write(BenchOptions options, IReadOnlyList<BenchOutcome> outcomes, IReadOnlyDictionary<string, string> unavailable)
    {
        File.WriteAllText(Path.Combine(options.OutDirectory, "bench.md"), Markdown(options, outcomes, unavailable));
        File.WriteAllText(Path.Combine(options.OutDirectory, "bench.html"), Html(options, outcomes, unavailable));
        File.WriteAllText(Path.Combine(options.OutDirectory, "bench.csv"), CsvReport.Summary(outcomes.Where(o => o.Result is not null).Select(o => o.Result!)));
    }

    /// <summary>The Markdown report.</summary>
    public static string Markdown(BenchOptions options, IReadOnlyList<BenchOutcome> outcomes, IReadOnlyDictionary<string, string> unavailable)
    {
        var md = new StringBuilder("# ConnMsg performance, measured\n\n");
        md.Append(Setup(options, outcomes)).Append("\n\n");
        foreach (Comparison c in Comparisons(options, outcomes, unavailable))
        {
            md.Append("## ").Append(c.Title).Append("\n\n");
            md.Append("| metric |");
            foreach (ScenarioResult r in c.Results)
            {
                md.Append(' ').Append(r.Label).Append(" |");
            }

            if (c.HasRatio)
            {
                md.Append(' ').Append(c.RatioLabel).Append(" |");
            }

            md.Append("\n|---|").Append(string.Concat(Enumerable.Repeat("---:|", c.Results.Count + (c.HasRatio ? 1 : 0)))).Append('\n');
            foreach (ComparisonRow row in c.Rows)
            {
                md.Append("| ").Append(row.Name).Append(row.Unit.Length > 0 ? $" ({row.Unit})" : "").Append(" |");
                foreach (double v in row.Values)
                {
                    md.Append(' ').Append(Format.Number(v)).Append(" |");
                }

                if (c.HasRatio)
                {
                    md.Append(' ').Append(Format.Ratio(row.Ratio)).Append(" |");
                }

                md.Append('\n');
            }

            MarkdownReport.AppendNotes(md, c.Notes);
            md.Append('\n');
        }

        MarkdownReport.AppendNotes(md, GeneralNotes(outcomes, unavailable));
        return md.ToString();
    }

    private static string Html(BenchOptions options, IReadOnlyList<BenchOutcome> outcomes, IReadOnlyDictionary<string, string> unavailable)
    {
        var html = new StringBuilder("<h1>ConnMsg performance, measured</h1><p>").Append(HtmlReport.Esc(Setup(options, outcomes))).Append("</p>");
        foreach (string note in GeneralNotes(outcomes, unavailable))
        {
            html.Append("<p class='note'>").Append(HtmlReport.Esc(note)).Append("</p>");
        }

        foreach (Comparison c in Comparisons(options, outcomes, unavailable))
        {
            html.Append("<h2>").Append(HtmlReport.Esc(c.Title)).Append("</h2><table><tr><th>metric</th>");
            foreach (ScenarioResult r in c.Results)
            {
                html.Append("<th>").Append(HtmlReport.Esc(r.Label)).Append("</th>");
            }

            html.Append(c.HasRatio ? $"<th>{HtmlReport.Esc(c.RatioLabel)}</th>" : "").Append("</tr>");
            foreach (ComparisonRow row in c.Rows)
            {
                html.Append("<tr><td>").Append(HtmlReport.Esc(row.Name + (row.Unit.Length > 0 ? $" ({row.Unit})" : ""))).Append("</td>");
                foreach (double v in row.Values)
                {
                    html.Append("<td>").Append(Format.Number(v)).Append("</td>");
                }

                html.Append(c.HasRatio ? $"<td>{Format.Ratio(row.Ratio)}</td>" : "").Append("</tr>");
            }

            html.Append("</table>");
            foreach (string note in c.Notes)
            {
                html.Append("<p class='note'>").Append(HtmlReport.Esc(note)).Append("</p>");
            }

            html.Append("<div class='charts'>");
            foreach ((string key, string title) in new[] { ("throughput", "Throughput"), ("p99_us", "Latency p99 (µs)"), ("server_cpu_us_per_op", "Server CPU µs per message") })
            {
                ComparisonRow? row = c.Rows.FirstOrDefault(r => r.Key == key);
                if (row is not null)
                {
                    string unit = key == "throughput" ? c.Results[0].OperationUnit : row.Unit;
                    html.Append(SvgChart.Bars($"{title} — {c.Title}", unit,
                        [new BarGroup(c.Id, c.Results.Select((r, i) => (r.Label, row.Values[i], SvgChart.Palette[i % SvgChart.Palette.Length])).ToList())]));
                }
            }

            // The per-second throughput and p99 of every server on one chart each, to compare their shapes.
            html.Append(SvgChart.Line($"Throughput per second — {c.Id}", "second", c.Results[0].OperationUnit,
                c.Results.Select((r, i) => new ChartSeries(r.Label, SvgChart.Palette[i % SvgChart.Palette.Length], r.Timeline.Select(p => ((double)p.Second, (double)p.Count)).ToList())).ToList()));
            html.Append(SvgChart.Line($"p99 per second (µs) — {c.Id}", "second", "µs",
                c.Results.Select((r, i) => new ChartSeries(r.Label, SvgChart.Palette[i % SvgChart.Palette.Length], r.Timeline.Select(p => ((double)p.Second, p.P99Us)).ToList())).ToList()));
            html.Append(SvgChart.Line($"Latency distribution (µs) — {c.Id}", "percentile", "µs",
                c.Results.Select((r, i) => new ChartSeries(r.Label, SvgChart.Palette[i % SvgChart.Palette.Length],
                    r.Distribution.Where(d => d.Percentile < 100).Select(d => (SvgChart.PercentileX(d.Percentile), d.LatencyUs)).ToList())).ToList(),
                SvgChart.PercentileTicks));
            html.Append("</div>");
        }

        html.Append("<h1>Every run</h1>");
        foreach (BenchOutcome o in outcomes)
        {
            if (o.Result is not null)
            {
                html.Append(HtmlReport.RunSection(o.Result, headingLevel: 2));
            }
            else
            {
                html.Append("<h2>").Append(HtmlReport.Esc($"{o.Run.Id} — {o.Run.Server.Name}")).Append("</h2><p class='bad'>")
                    .Append(HtmlReport.Esc(o.Error ?? "failed")).Append("</p>");
            }
        }

        return HtmlReport.Page("ConnMsg performance, measured", html.ToString());
    }

    private static string Setup(BenchOptions options, IReadOnlyList<BenchOutcome> outcomes) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{DateTime.UtcNow:u} on {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}. " +
            $"Each run: a fresh server pinned to core 0, the driver pinned to core 1, {options.WarmupSeconds:0.#} s warm-up, {options.DurationSeconds:0.#} s measured. " +
            $"Ratios are ConnMsg ÷ baseline: above 1 is better for throughput, below 1 is better for latency, CPU and memory.") +
        (outcomes.Any(o => o.Run.Server == ServerSpec.Floor)
            ? $" The {ServerSpec.Floor.Name} column is a single-threaded C epoll server ({ServerSpec.Floor.Project}) that answers echo without a JSON parser: the least a server can spend on this machine. It is not in any ratio."
            : "");

    private static IEnumerable<string> GeneralNotes(IReadOnlyList<BenchOutcome> outcomes, IReadOnlyDictionary<string, string> unavailable)
    {
        foreach (KeyValuePair<string, string> missing in unavailable)
        {
            yield return $"{missing.Key} was not measured: {missing.Value}.";
        }

        foreach (BenchOutcome o in outcomes.Where(o => o.Result is null))
        {
            yield return $"{o.Run.Id} on {o.Run.Server.Name} failed: {o.Error} (see {o.Directory}).";
        }
    }

    private static IEnumerable<Comparison> Comparisons(BenchOptions options, IReadOnlyList<BenchOutcome> outcomes, IReadOnlyDictionary<string, string> unavailable)
    {
        // Servers that implement only some scenarios have no column in the others; say so rather than leave it unexplained.
        List<ServerSpec> partial = ServerSpec.All
            .Where(s => s.Scenarios is not null && options.Servers.Contains(s.Name) && !unavailable.ContainsKey(s.Name))
            .ToList();
        var done = outcomes.Where(o => o.Result is not null).ToList();
        foreach (IGrouping<string, BenchOutcome> workload in done.Where(o => o.Run.Scenario is not ("signalr" or "client")).GroupBy(o => o.Run.Id))
        {
            List<ScenarioResult> results = workload.Select(o => o.Result!).ToList();
            string[] keys = workload.First().Run.Scenario switch
            {
                "fanout" => s_fanoutKeys,
                "connect" => s_connectKeys,
                _ => s_echoKeys,
            };
            int connmsg = results.FindIndex(r => r.Label == ServerSpec.ConnMsg.Name);
            int baseline = results.FindIndex(r => r.Label == ServerSpec.Middleware.Name);
            var notes = results.SelectMany(r => r.Notes.Select(n => $"{r.Label}: {n}")).ToList();
            notes.AddRange(partial.Where(s => !s.Supports(workload.First().Run.Scenario))
                .Select(s => $"{s.Name}: not run in this workload; it implements only {string.Join(" and ", s.Scenarios!)}."));
            yield return new Comparison(workload.Key, workload.First().Run.Title, results, Rows(results, keys, connmsg, baseline), connmsg >= 0 && baseline >= 0, "ConnMsg ÷ middleware", notes);
        }

        BenchOutcome? signalr = done.FirstOrDefault(o => o.Run.Scenario == "signalr");
        BenchOutcome? client = done.FirstOrDefault(o => o.Run.Id == BenchPlan.ClientEchoId);
        if (signalr is null && client is null)
        {
            yield break;
        }

        // Prefer the ConnMsg .NET client (library client against library client); fall back to the raw-client run.
        BenchOutcome? ours = client
            ?? done.FirstOrDefault(o => o.Run.Id == BenchPlan.EchoPipelinedId && o.Run.Server == ServerSpec.ConnMsg);
        var compared = new List<ScenarioResult>();
        var clientNotes = new List<string>
        {
            ours == client
                ? "Both sides use their library's .NET client: ConnMsg.Client's RequestAsync<string>(\"echo\") against SignalR's InvokeAsync<string>(\"Echo\"), each on 100 connections × 16 concurrent calls; the driver's CPU is mostly the client libraries' cost."
                : "No ConnMsg .NET client run was available: the ConnMsg side is the reqcfm run of the same shape, driven by the load driver's raw pipelined client, so the ratio includes the difference in client cost.",
        };
        if (ours is not null)
        {
            compared.Add(ours.Result!);
        }

        if (signalr is not null)
        {
            compared.Add(signalr.Result!);
        }

        clientNotes.AddRange(compared.SelectMany(r => r.Notes.Select(n => $"{r.Label}: {n}")));
        bool ratio = ours is not null && signalr is not null;
        string id = signalr?.Run.Id ?? client!.Run.Id;
        yield return new Comparison(id, ".NET client echo, 100 connections × 16 in flight, 64 B: ConnMsg vs SignalR", compared,
            Rows(compared, s_echoKeys, ratio ? 0 : -1, ratio ? 1 : -1), ratio, "ConnMsg ÷ SignalR", clientNotes);
    }

    private static List<ComparisonRow> Rows(List<ScenarioResult> results, string[] keys, int numerator, int denominator)
    {
        var rows = new List<ComparisonRow>();
        foreach (string key in keys)
        {
            Metric? any = results.SelectMany(r => r.Metrics).FirstOrDefault(m => m.Key == key);
            if (any is null)
            {
                continue;
            }

            double[] values = results.Select(r => r.Get(key)).ToArray();
            double ratio = numerator >= 0 && denominator >= 0 ? values[numerator] / values[denominator] : double.NaN;
            string unit = key == "throughput" ? results[0].OperationUnit : any.Unit;
            rows.Add(new ComparisonRow(key, any.Name, unit, values, ratio));
        }

        return rows;
    }
}
