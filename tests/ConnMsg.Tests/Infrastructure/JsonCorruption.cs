namespace ConnMsg.Testing;

/// <summary>
/// One random edit of a message, for the tests that compare a parser's shortcut with its general path: a byte replaced
/// by a JSON-significant one, removed, or duplicated. The client's tests compile this same file in.
/// </summary>
internal static class JsonCorruption
{
    private static readonly byte[] Significant = "{}[]:,\"\\ 0123456789-.eEtfn\u007f"u8.ToArray();

    public static byte[] OneByte(byte[] json, Random random)
    {
        var bytes = new List<byte>(json);
        int at = random.Next(bytes.Count);
        switch (random.Next(3))
        {
            case 0:
                bytes[at] = Significant[random.Next(Significant.Length)];
                break;
            case 1:
                bytes.RemoveAt(at);
                break;
            default:
                bytes.Insert(at, bytes[at]);
                break;
        }

        return bytes.ToArray();
    }
}
