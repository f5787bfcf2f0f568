using System.Text.Json;

namespace ConnMsg.Load.Reporting;

/// <summary>Writes one run's <c>result.json</c>, <c>summary.md</c>, <c>summary.csv</c>, <c>timeline.csv</c> and <c>report.html</c>.</summary>
public static class ReportWriter
{
    /// <summary>JSON options shared by the writer and the bench command that reads results back.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes every format of <paramref name="result"/> into <paramref name="directory"/>.</summary>
    public static void Write(ScenarioResult result, string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "result.json"), JsonSerializer.Serialize(result, JsonOptions));
        File.WriteAllText(Path.Combine(directory, "summary.md"), MarkdownReport.ForRun(result));
        File.WriteAllText(Path.Combine(directory, "summary.csv"), CsvReport.Summary([result]));
        File.WriteAllText(Path.Combine(directory, "timeline.csv"), CsvReport.Timeline(result));
        File.WriteAllText(Path.Combine(directory, "report.html"), HtmlReport.ForRun(result));
    }

    /// <summary>Reads a <c>result.json</c> written by <see cref="Write"/>.</summary>
    public static ScenarioResult Read(string path) =>
        JsonSerializer.Deserialize<ScenarioResult>(File.ReadAllText(path), JsonOptions)
        ?? throw new InvalidDataException($"empty result: {path}");
}
