using System.Globalization;
using System.Text;

namespace ConnMsg.Diagnostics;

/// <summary>Writes the Prometheus text exposition format (version 0.0.4).</summary>
internal sealed class PrometheusWriter
{
    private readonly StringBuilder _text = new();

    public void Counter(string name, string help, long value) => Single(name, help, "counter", value);

    public void Gauge(string name, string help, long value) => Single(name, help, "gauge", value);

    public void LabelledCounter(string name, string help, string label, IEnumerable<(string Value, long Count)> series)
    {
        Header(name, help, "counter");
        foreach ((string value, long count) in series.OrderBy(s => s.Value, StringComparer.Ordinal))
        {
            _text.Append(name).Append('{').Append(label).Append("=\"").Append(Escape(value)).Append("\"} ")
                .Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    public void Series(string name, string labels, double value)
    {
        _text.Append(name);
        if (labels.Length > 0)
        {
            _text.Append('{').Append(labels).Append('}');
        }

        _text.Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
    }

    public void Header(string name, string help, string type)
    {
        _text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        _text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    public static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    private void Single(string name, string help, string type, long value)
    {
        Header(name, help, type);
        _text.Append(name).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    public override string ToString() => _text.ToString();
}
