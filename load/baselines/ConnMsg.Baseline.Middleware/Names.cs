namespace ConnMsg.Baseline.Middleware;

/// <summary>Validation of op and topic names (PROTOCOL.md §3).</summary>
internal static class Names
{
    /// <summary>True when <paramref name="name"/> has 1 … <paramref name="maxLength"/> characters of <c>A-Z a-z 0-9 . _ - : /</c>.</summary>
    public static bool IsValid(string? name, int maxLength)
    {
        if (string.IsNullOrEmpty(name) || name.Length > maxLength)
        {
            return false;
        }

        foreach (char c in name)
        {
            bool ok = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' or '-' or ':' or '/';
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}
