using ConnMsg.Messaging;

namespace ConnMsg.Client.Internal;

/// <summary>Validates <c>op</c> and <c>topic</c> names (PROTOCOL §3) before sending, so a typo fails at the call site, not as a bad_message.</summary>
/// <remarks>The rule itself is the server's <see cref="Names"/>, compiled into this assembly from the same file.</remarks>
internal static class NameGuard
{
    public const int MaxOpBytes = Names.MaxOpBytes;
    public const int MaxTopicBytes = Names.MaxTopicBytes;

    public static void ThrowIfInvalid(string name, int maxBytes, string paramName)
    {
        ArgumentNullException.ThrowIfNull(name, paramName);

        // A leading '$' names the protocol's reserved operations and topics ($ping, $subscribe, $session).
        if (Names.IsValid(name, maxBytes, allowReserved: true))
        {
            return;
        }

        // The allowed characters are all ASCII, so the character count is the byte count.
        if (name.Length == 0 || name.Length > maxBytes)
        {
            throw new ArgumentException($"Must be 1 to {maxBytes} characters.", paramName);
        }

        // Name the offending character (the error path only, so a string per character is fine).
        for (int i = name[0] == '$' ? 1 : 0; i < name.Length; i++)
        {
            if (!Names.IsValid(name[i].ToString(), 1, allowReserved: false))
            {
                throw new ArgumentException($"'{name}' contains '{name[i]}'; names may use only A-Z a-z 0-9 . _ - : /", paramName);
            }
        }

        throw new ArgumentException($"'{name}' is not a valid name: '$' must be followed by a name", paramName);
    }
}
