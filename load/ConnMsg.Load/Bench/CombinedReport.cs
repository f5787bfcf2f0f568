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
        File.WriteAllText(Path.Combine(options.OutDirectory, "bench.csv"), Csv(outcomes));
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
            foreach (ServerRounds server in c.Servers)
            {
                md.Append(' ').Append(server.Label).Append(" |");
            }

            if (c.HasRatio)
            {
                md.Append(' ').Append(c.RatioLabel).Append(" |");
            }

            md.Append("\n|---|").Append(string.Concat(Enumerable.Repeat("---:|", c.Servers.Count + (c.HasRatio ? 1 : 0)))).Append('\n');
            foreach (ComparisonRow row in c.Rows)
            {
                md.Append("| ").Append(row.Name).Append(row.Unit.Length > 0 ? $" ({row.Unit})" : "").Append(" |");
                foreach (double v in row.Values)
                {
                    md.Append(' ').Append(Format.Number(v)).Append(" |");
                }

                if (c.HasRatio)
                {
                    md.Append(' ').Append(RatioText(row.Ratio)).Append(" |");
                }

                md.Append('\n');
            }

            MarkdownReport.AppendNotes(md, c.Notes);
            md.Append('\n');
        }

        MarkdownReport.AppendNotes(md, GeneralNotes(options, outcomes, unavailable));
        return md.ToString();
    }

    private static string Html(BenchOptions options, IReadOnlyList<BenchOutcome> outcomes, IReadOnlyDictionary<string, string> unavailable)
    {
        var html = new StringBuilder("<h1>ConnMsg performance, measured</h1><p>").Append(HtmlReport.Esc(Setup(options, outcomes))).Append("</p>");
        foreach (string note in GeneralNotes(options, outcomes, unavailable))
        {
            html.Append("<p class='note'>").Append(HtmlReport.Esc(note)).Append("</p>");
        }

        foreach (Comparison c in Comparisons(options, outcomes, unavailable))
        {
            html.Append("<h2>").Append(HtmlReport.Esc(c.Title)).Append("</h2><table><tr><th>metric</th>");
            foreach (ServerRounds server in c.Servers)
            {
                html.Append("<th>").Append(HtmlReport.Esc(server.Label)).Append("</th>");
            }

            html.Append(c.HasRatio ? $"<th>{HtmlReport.Esc(c.RatioLabel)}</th>" : "").Append("</tr>");
            foreach (ComparisonRow row in c.Rows)
            {
                html.Append("<tr><td>").Append(HtmlReport.Esc(row.Name + (row.Unit.Length > 0 ? $" ({row.Unit})" : ""))).Append("</td>");
                foreach (double v in row.Values)
                {
                    html.Append("<td>").Append(Format.Number(v)).Append("</td>");
                }

                html.Append(c.HasRatio ? $"<td>{HtmlReport.Esc(RatioText(row.Ratio))}</td>" : "").Append("</tr>");
            }

            html.Append("</table>");
            foreach (string note in c.Notes)
            {
                html.Append("<p class='note'>").Append(HtmlReport.Esc(note)).Append("</p>");
            }

            List<ScenarioResult> shown = c.Servers.Select(server => server.Representative).ToList();
            html.Append("<div class='charts'>");
            foreach ((string key, string title) in new[] { ("throughput", "Throughput"), ("p99_us", "Latency p99 (µs)"), ("server_cpu_us_per_op", "Server CPU µs per message") })
            {
                ComparisonRow? row = c.Rows.FirstOrDefault(r => r.Key == key);
                if (row is not null)
                {
                    string unit = key == "throughput" ? shown[0].OperationUnit : row.Unit;
                    html.Append(SvgChart.Bars($"{title} — {c.Title}", unit,
                        [new BarGroup(c.Id, c.Servers.Select((server, i) => (server.Label, row.Values[i], SvgChart.Palette[i % SvgChart.Palette.Length])).ToList())]));
                }
            }

            // The per-second throughput and p99 of every server on one chart each, to compare their shapes; with several
            // rounds, each server's round of median throughput.
            html.Append(SvgChart.Line($"Throughput per second — {c.Id}", "second", shown[0].OperationUnit,
                shown.Select((r, i) => new ChartSeries(r.Label, SvgChart.Palette[i % SvgChart.Palette.Length], r.Timeline.Select(p => ((double)p.Second, (double)p.Count)).ToList())).ToList()));
            html.Append(SvgChart.Line($"p99 per second (µs) — {c.Id}", "second", "µs",
                shown.Select((r, i) => new ChartSeries(r.Label, SvgChart.Palette[i % SvgChart.Palette.Length], r.Timeline.Select(p => ((double)p.Second, p.P99Us)).ToList())).ToList()));
            html.Append(SvgChart.Line($"Latency distribution (µs) — {c.Id}", "percentile", "µs",
                shown.Select((r, i) => new ChartSeries(r.Label, SvgChart.Palette[i % SvgChart.Palette.Length],
                    r.Distribution.Where(d => d.Percentile < 100).Select(d => (SvgChart.PercentileX(d.Percentile), d.LatencyUs)).ToList())).ToList(),
                SvgChart.PercentileTicks));
            html.Append("</div>");
        }

        html.Append("<h1>Every run</h1>");
        foreach (BenchOutcome o in outcomes)
        {
            if (o.Result is not null)
            {
                html.Append(HtmlReport.RunSection(o.Result, headingLevel: 2, options.Rounds > 1 ? $"round {o.Run.Round}" : null));
            }
            else
            {
                html.Append("<h2>").Append(HtmlReport.Esc($"{o.Run.Id} — {o.Run.Server.Name}{RoundSuffix(options, o.Run)}")).Append("</h2><p class='bad'>")
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
        (options.Rounds > 1
            ? $" Every run was repeated {options.Rounds} times, the servers in reverse order every other round: each value is its median over the rounds, and each ratio is the median of the {options.Rounds} ratios taken within a round, with their range in brackets."
            : "") +
        (outcomes.Any(o => o.Run.Server == ServerSpec.Floor)
            ? $" The {ServerSpec.Floor.Name} column is a single-threaded C epoll server ({ServerSpec.Floor.Project}) that answers echo without a JSON parser: the least a server can spend on this machine. It is not in any ratio."
            : "");

    private static IEnumerable<string> GeneralNotes(BenchOptions options, IReadOnlyList<BenchOutcome> outcomes, IReadOnlyDictionary<string, string> unavailable)
    {
        foreach (KeyValuePair<string, string> missing in unavailable)
        {
            yield return $"{missing.Key} was not measured: {missing.Value}.";
        }

        foreach (BenchOutcome o in outcomes.Where(o => o.Result is null))
        {
            yield return $"{o.Run.Id} on {o.Run.Server.Name}{RoundSuffix(options, o.Run)} failed: {o.Error} (see {o.Directory}).";
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
            List<ServerRounds> servers = ByServer(options, workload);
            string[] keys = workload.First().Run.Scenario switch
            {
                "fanout" => s_fanoutKeys,
                "connect" => s_connectKeys,
                _ => s_echoKeys,
            };
            int connmsg = servers.FindIndex(s => s.Label == ServerSpec.ConnMsg.Name);
            int baseline = servers.FindIndex(s => s.Label == ServerSpec.Middleware.Name);
            List<string> notes = Notes(options, workload);
            notes.AddRange(partial.Where(s => !s.Supports(workload.First().Run.Scenario))
                .Select(s => $"{s.Name}: not run in this workload; it implements only {string.Join(" and ", s.Scenarios!)}."));
            yield return new Comparison(workload.Key, workload.First().Run.Title, servers, Rows(servers, keys, connmsg, baseline), connmsg >= 0 && baseline >= 0, "ConnMsg ÷ middleware", notes);
        }

        List<BenchOutcome> signalr = done.Where(o => o.Run.Scenario == "signalr").ToList();
        List<BenchOutcome> client = done.Where(o => o.Run.Id == BenchPlan.ClientEchoId).ToList();
        if (signalr.Count == 0 && client.Count == 0)
        {
            yield break;
        }

        // Prefer the ConnMsg .NET client (library client against library client); fall back to the raw-client run.
        List<BenchOutcome> ours = client.Count > 0
            ? client
            : done.Where(o => o.Run.Id == BenchPlan.EchoPipelinedId && o.Run.Server == ServerSpec.ConnMsg).ToList();
        var compared = new List<ServerRounds>();
        var clientNotes = new List<string>
        {
            client.Count > 0
                ? "Both sides use their library's .NET client: ConnMsg.Client's RequestAsync<string>(\"echo\") against SignalR's InvokeAsync<string>(\"Echo\"), each on 100 connections × 16 concurrent calls; the driver's CPU is mostly the client libraries' cost."
                : "No ConnMsg .NET client run was available: the ConnMsg side is the reqcfm run of the same shape, driven by the load driver's raw pipelined client, so the ratio includes the difference in client cost.",
        };
        if (ours.Count > 0)
        {
            compared.AddRange(ByServer(options, ours));
        }

        if (signalr.Count > 0)
        {
            compared.AddRange(ByServer(options, signalr));
        }

        clientNotes.AddRange(Notes(options, ours.Concat(signalr)));
        bool ratio = ours.Count > 0 && signalr.Count > 0;
        string id = signalr.FirstOrDefault()?.Run.Id ?? client[0].Run.Id;
        yield return new Comparison(id, ".NET client echo, 100 connections × 16 in flight, 64 B: ConnMsg vs SignalR", compared,
            Rows(compared, s_echoKeys, ratio ? 0 : -1, ratio ? 1 : -1), ratio, "ConnMsg ÷ SignalR", clientNotes);
    }

    /// <summary>One entry per server, in the order of <c>--servers</c>, each with its results by round.</summary>
    private static List<ServerRounds> ByServer(BenchOptions options, IEnumerable<BenchOutcome> outcomes) =>
        outcomes.GroupBy(o => o.Run.Server)
            .OrderBy(g => options.Servers.Select((name, i) => name == g.Key.Name ? i : int.MaxValue).Min())
            .Select(g => new ServerRounds(g.Key.Name, g.ToDictionary(o => o.Run.Round, o => o.Result!)))
            .ToList();

    /// <summary>The runs' notes, each once, with the rounds it came from when there were several.</summary>
    private static List<string> Notes(BenchOptions options, IEnumerable<BenchOutcome> outcomes) =>
        outcomes.SelectMany(o => o.Result!.Notes.Select(n => (o.Result!.Label, Note: n, o.Run.Round)))
            .GroupBy(x => (x.Label, x.Note))
            .Select(g => options.Rounds > 1
                ? $"{g.Key.Label} (round {string.Join(", ", g.Select(x => x.Round).Order())}): {g.Key.Note}"
                : $"{g.Key.Label}: {g.Key.Note}")
            .ToList();

    private static string RoundSuffix(BenchOptions options, BenchRun run) => options.Rounds > 1 ? $" (round {run.Round})" : "";

    /// <summary>The median ratio, with the range over the rounds when there were several.</summary>
    internal static string RatioText(RatioSpread ratio) =>
        ratio.Rounds > 1
            ? string.Create(CultureInfo.InvariantCulture, $"{Format.Ratio(ratio.Median)} ({ratio.Min:0.00}–{ratio.Max:0.00})")
            : Format.Ratio(ratio.Median);

    /// <summary>Every metric of every run, one row each, with the workload and round that tell the rows apart.</summary>
    private static string Csv(IReadOnlyList<BenchOutcome> outcomes)
    {
        var csv = new StringBuilder("workload,server,round,key,name,value,unit\n");
        foreach (BenchOutcome o in outcomes.Where(o => o.Result is not null))
        {
            foreach (Metric m in o.Result!.Metrics)
            {
                csv.Append(CsvReport.Escape(o.Run.Id)).Append(',').Append(CsvReport.Escape(o.Run.Server.Name)).Append(',')
                    .Append(o.Run.Round.ToString(CultureInfo.InvariantCulture)).Append(',').Append(m.Key).Append(',')
                    .Append(CsvReport.Escape(m.Name)).Append(',').Append(Format.Csv(m.Value)).Append(',').Append(CsvReport.Escape(m.Unit)).Append('\n');
            }
        }

        return csv.ToString();
    }

    private static List<ComparisonRow> Rows(List<ServerRounds> servers, string[] keys, int numerator, int denominator)
    {
        var rows = new List<ComparisonRow>();
        foreach (string key in keys)
        {
            Metric? any = servers.SelectMany(s => s.ByRound.Values).SelectMany(r => r.Metrics).FirstOrDefault(m => m.Key == key);
            if (any is null)
            {
                continue;
            }

            double[] values = servers.Select(s => s.Median(key)).ToArray();
            RatioSpread ratio = numerator >= 0 && denominator >= 0
                ? RoundStatistics.Ratio(servers[numerator], servers[denominator], key)
                : new RatioSpread(double.NaN, double.NaN, double.NaN, 0);
            string unit = key == "throughput" ? servers[0].Representative.OperationUnit : any.Unit;
            rows.Add(new ComparisonRow(key, any.Name, unit, values, ratio));
        }

        return rows;
    }
}
