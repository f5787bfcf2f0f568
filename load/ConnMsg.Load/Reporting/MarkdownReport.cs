using System.Text;

namespace ConnMsg.Load.Reporting;

/// <summary>The Markdown summary of one run.</summary>
public static class MarkdownReport
{
    /// <summary>A heading, the parameters, the metrics table and the notes.</summary>
    public static string ForRun(ScenarioResult result)
    {
        var md = new StringBuilder();
        md.Append("# ").Append(result.Scenario).Append(" — ").Append(result.Label).Append("\n\n");
        md.Append("Target `").Append(result.Target).Append("`, measured from ").Append(result.StartedUtc.ToString("u", System.Globalization.CultureInfo.InvariantCulture))
            .Append(". Latency: ").Append(result.LatencyMeaning).Append(".\n\n");
        md.Append("Parameters: ").AppendJoin(", ", result.Parameters.Select(p => $"`{p.Key}={p.Value}`")).Append("\n\n");
        md.Append("| metric | value | unit |\n|---|---:|---|\n");
        foreach (Metric m in result.Metrics)
        {
            md.Append("| ").Append(m.Name).Append(" | ").Append(Format.Number(m.Value)).Append(" | ").Append(m.Unit).Append(" |\n");
        }

        AppendNotes(md, result.Notes);
        return md.ToString();
    }

    /// <summary>Appends a bullet list of notes, if any.</summary>
    public static void AppendNotes(StringBuilder md, IEnumerable<string> notes)
    {
        bool first = true;
        foreach (string note in notes)
        {
            if (first)
            {
                md.Append("\nNotes:\n\n");
                first = false;
            }

            md.Append("- ").Append(note).Append('\n');
        }
    }
}
