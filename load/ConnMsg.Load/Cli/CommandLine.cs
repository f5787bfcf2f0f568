using System.Globalization;

namespace ConnMsg.Load.Cli;

/// <summary><c>--name value</c> and <c>--flag</c> options after a subcommand.</summary>
public sealed class CommandLine
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _read = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Parses <paramref name="args"/>; a value that starts with <c>--</c> is taken as the next option.</summary>
    public CommandLine(IEnumerable<string> args)
    {
        string? pending = null;
        foreach (string arg in args)
        {
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                if (pending is not null)
                {
                    _options[pending] = null;
                }

                int eq = arg.IndexOf('=');
                if (eq > 0)
                {
                    _options[arg[2..eq]] = arg[(eq + 1)..];
                    pending = null;
                }
                else
                {
                    pending = arg[2..];
                }
            }
            else if (pending is not null)
            {
                _options[pending] = arg;
                pending = null;
            }
            else
            {
                throw new ArgumentException($"unexpected argument '{arg}'");
            }
        }

        if (pending is not null)
        {
            _options[pending] = null;
        }
    }

    /// <summary>True when <c>--name</c> was given, with or without a value.</summary>
    public bool Has(string name)
    {
        _read.Add(name);
        return _options.ContainsKey(name);
    }

    /// <summary>The string value of <c>--name</c>, or <paramref name="fallback"/>.</summary>
    public string String(string name, string fallback) =>
        Has(name) && _options[name] is string value ? value : fallback;

    /// <summary>The string value of <c>--name</c>, or null.</summary>
    public string? StringOrNull(string name) => Has(name) ? _options[name] : null;

    /// <summary>The integer value of <c>--name</c>, or <paramref name="fallback"/>.</summary>
    public int Int(string name, int fallback) =>
        Has(name) && _options[name] is string value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    /// <summary>The integer value of <c>--name</c>, or null.</summary>
    public int? IntOrNull(string name) =>
        Has(name) && _options[name] is string value ? int.Parse(value, CultureInfo.InvariantCulture) : null;

    /// <summary>The number value of <c>--name</c>, or <paramref name="fallback"/>.</summary>
    public double Double(string name, double fallback) =>
        Has(name) && _options[name] is string value ? double.Parse(value, CultureInfo.InvariantCulture) : fallback;

    /// <summary>A flag: present without a value, or with <c>true</c>/<c>1</c>.</summary>
    public bool Flag(string name) =>
        Has(name) && (_options[name] is null or "true" or "1");

    /// <summary>Options given but never asked for: most likely typos.</summary>
    public IEnumerable<string> Unread() => _options.Keys.Where(k => !_read.Contains(k));

    /// <summary>All options as given, for the report's parameter list.</summary>
    public IReadOnlyDictionary<string, string?> All => _options;
}
