using System.Text;

namespace ConnMsg.Load.Reporting;

/// <summary>CSV forms of results: one row per metric, and one row per second.</summary>
public static class CsvReport
{
    /// <summary>label,scenario,key,name,value,unit rows for every metric of every result.</summary>
    public static string Summary(IEnumerable<ScenarioResult> results)
    {
        var csv = new StringBuilder("label,scenario,key,name,value,unit\n");
        foreach (ScenarioResult r in results)
        {
            foreach (Metric m in r.Metrics)
            {
                csv.Append(Escape(r.Label)).Append(',').Append(Escape(r.Scenario)).Append(',').Append(m.Key).Append(',')
                    .Append(Escape(m.Name)).Append(',').Append(Format.Csv(m.Value)).Append(',').Append(Escape(m.Unit)).Append('\n');
            }
        }

        return csv.ToString();
    }

    /// <summary>One row per second of the measured window.</summary>
    public static string Timeline(ScenarioResult result)
    {
        var csv = new StringBuilder("second,count,p50_us,p99_us,max_us,server_rss_mb,server_cpu_pct,driver_cpu_pct\n");
        foreach (TimelinePoint p in result.Timeline)
        {
            csv.Append(p.Second).Append(',').Append(p.Count).Append(',').Append(Format.Csv(p.P50Us)).Append(',')
                .Append(Format.Csv(p.P99Us)).Append(',').Append(Format.Csv(p.MaxUs)).Append(',').Append(Format.Csv(p.ServerRssMb)).Append(',')
                .Append(Format.Csv(p.ServerCpuPercent)).Append(',').Append(Format.Csv(p.DriverCpuPercent)).Append('\n');
        }

        return csv.ToString();
    }

    /// <summary>Quotes a field when it needs it (RFC 4180).</summary>
    internal static string Escape(string text) =>
        text.AsSpan().IndexOfAny(",\"\n") >= 0 ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : text;
}
