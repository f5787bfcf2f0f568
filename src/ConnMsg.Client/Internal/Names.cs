namespace ConnMsg.Client.Internal;

/// <summary>Validates <c>op</c> and <c>topic</c> names (PROTOCOL §3) before sending, so a typo fails at the call site, not as a bad_message.</summary>
internal static class Names
{
    public const int MaxOpBytes = 128;
    public const int MaxTopicBytes = 256;

    public static void ThrowIfInvalid(string name, int maxBytes, string paramName)
    {
        ArgumentNullException.ThrowIfNull(name, paramName);
        if (name.Length == 0 || name.Length > maxBytes)
        {
            throw new ArgumentException($"Must be 1 to {maxBytes} characters.", paramName);
        }

        // A leading '$' names the protocol's reserved operations and topics ($ping, $subscribe, $session).
        // The allowed characters are all ASCII, so the character count is the byte count.
        for (int i = name[0] == '$' && name.Length > 1 ? 1 : 0; i < name.Length; i++)
        {
            char c = name[i];
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':' or '/'))
            {
                throw new ArgumentException($"'{name}' contains '{c}'; names may use only A-Z a-z 0-9 . _ - : /", paramName);
            }
        }
    }
}
