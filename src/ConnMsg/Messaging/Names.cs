namespace ConnMsg.Messaging;

/// <summary>Character rules of PROTOCOL.md §3 for op and topic names, and reject codes.</summary>
/// <remarks>The client compiles this same file in (ConnMsg.Client.csproj), so both sides apply one rule.</remarks>
internal static class Names
{
    /// <summary>The longest <c>op</c>, in bytes (PROTOCOL.md §3).</summary>
    public const int MaxOpBytes = 128;

    /// <summary>The longest <c>topic</c>, in bytes (PROTOCOL.md §3).</summary>
    public const int MaxTopicBytes = 256;

    /// <summary>1…<paramref name="maxBytes"/> bytes of <c>A-Z a-z 0-9 . _ - : /</c>, optionally led by the reserved <c>$</c>.</summary>
    public static bool IsValid(ReadOnlySpan<byte> name, int maxBytes, bool allowReserved)
    {
        if (name.IsEmpty || name.Length > maxBytes)
        {
            return false;
        }

        int i = 0;
        if (allowReserved && name[0] == (byte)'$')
        {
            if (name.Length == 1)
            {
                return false;
            }

            i = 1;
        }

        for (; i < name.Length; i++)
        {
            byte b = name[i];
            bool ok = b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
                or (byte)'.' or (byte)'_' or (byte)'-' or (byte)':' or (byte)'/';
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Same rule as <see cref="IsValid(ReadOnlySpan{byte}, int, bool)"/>, for a string.</summary>
    public static bool IsValid(string name, int maxBytes, bool allowReserved)
    {
        if (name.Length == 0 || name.Length > maxBytes)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[name.Length];
        for (int i = 0; i < name.Length; i++)
        {
            if (name[i] > 0x7F)
            {
                return false;
            }

            bytes[i] = (byte)name[i];
        }

        return IsValid(bytes, maxBytes, allowReserved);
    }

    /// <summary><c>snake_case</c>: lowercase letters, digits and underscores, starting with a letter, at most 64 bytes.</summary>
    public static bool IsSnakeCase(ReadOnlySpan<byte> code)
    {
        if (code.IsEmpty || code.Length > 64 || code[0] is < (byte)'a' or > (byte)'z')
        {
            return false;
        }

        foreach (byte b in code)
        {
            if (b is not ((>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9') or (byte)'_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>String form of <see cref="IsSnakeCase(ReadOnlySpan{byte})"/>.</summary>
    public static bool IsSnakeCase(string code)
    {
        if (code.Length == 0 || code.Length > 64)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[code.Length];
        for (int i = 0; i < code.Length; i++)
        {
            if (code[i] > 0x7F)
            {
                return false;
            }

            bytes[i] = (byte)code[i];
        }

        return IsSnakeCase(bytes);
    }
}
