using System.Globalization;

namespace ConnMsg.Load.Reporting;

/// <summary>Number formatting shared by the reports.</summary>
public static class Format
{
    /// <summary>A readable number: thousands separators for large values, three significant digits for small ones.</summary>
    public static string Number(double value)
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
        {
            return "n/a";
        }

        double abs = Math.Abs(value);
        string format = abs >= 1000 ? "N0" : abs >= 100 ? "0" : abs >= 10 ? "0.0" : abs >= 1 ? "0.00" : abs == 0 ? "0" : "0.000";
        return value.ToString(format, CultureInfo.InvariantCulture);
    }

    /// <summary>A number for CSV: invariant, round-trippable, empty for NaN.</summary>
    public static string Csv(double value) =>
        double.IsNaN(value) ? "" : value.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>A ratio such as <c>1.23×</c>.</summary>
    public static string Ratio(double value) =>
        double.IsNaN(value) || double.IsInfinity(value) ? "n/a" : value.ToString("0.00", CultureInfo.InvariantCulture) + "×";
}
