namespace ConnMsg.Http;

/// <summary>The request line and headers of an HTTP/1.1 request, as parsed from the connection before any upgrade.</summary>
/// <remarks>Immutable after parsing; safe to read from any thread.</remarks>
public sealed class HttpRequestHead
{
    // An array, not the interface: a foreach over IReadOnlyList boxes an enumerator, and the handshake looks up a
    // dozen headers.
    private readonly KeyValuePair<string, string>[] _headers;

    internal HttpRequestHead(string method, string path, string query, string version, KeyValuePair<string, string>[] headers)
    {
        Method = method;
        Path = path;
        Query = query;
        Version = version;
        _headers = headers;
    }

    /// <summary>The method, e.g. <c>GET</c>.</summary>
    public string Method { get; }

    /// <summary>The path of the request target, without the query.</summary>
    public string Path { get; }

    /// <summary>The query of the request target including its leading <c>?</c>, or empty.</summary>
    public string Query { get; }

    /// <summary>The protocol version, e.g. <c>HTTP/1.1</c>.</summary>
    public string Version { get; }

    /// <summary>Every header in arrival order; names as sent.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers => _headers;

    /// <summary>The value of the first header named <paramref name="name"/> (case-insensitive), or null.</summary>
    public string? GetHeader(string name)
    {
        foreach (KeyValuePair<string, string> h in _headers)
        {
            if (string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                return h.Value;
            }
        }

        return null;
    }

    /// <summary>How many headers are named <paramref name="name"/> (case-insensitive).</summary>
    internal int CountHeader(string name)
    {
        int count = 0;
        foreach (KeyValuePair<string, string> h in _headers)
        {
            if (string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>
    /// Whether the request declares a body, or framing that cannot be read as none: any Transfer-Encoding, more than one
    /// Content-Length, or one that is not a plain number above zero (see <see cref="TryGetContentLength"/>).
    /// </summary>
    internal bool DeclaresBody() => !TryGetContentLength(out long length) || length > 0;

    /// <summary>
    /// The length of the body the request declares with a single Content-Length of 1 to 18 digits; 0 when it declares
    /// none. False when its framing cannot be read that way: any Transfer-Encoding, several Content-Length headers, or
    /// one that is not a plain number (RFC 9112 §6.3).
    /// </summary>
    internal bool TryGetContentLength(out long length)
    {
        length = 0;
        string? value = null;
        foreach (KeyValuePair<string, string> h in _headers)
        {
            if (string.Equals(h.Key, "Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            if (string.Equals(h.Key, "Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                if (value is not null)
                {
                    return false;
                }

                value = h.Value;
            }
        }

        if (value is null)
        {
            return true;
        }

        if (value.Length is 0 or > 18 || value.AsSpan().ContainsAnyExceptInRange('0', '9'))
        {
            return false;
        }

        length = long.Parse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>
    /// Whether the length of the body can be determined (RFC 9112 §6.3): chunked as the final transfer coding, or no
    /// Transfer-Encoding and at most one Content-Length that is a plain number. False leaves the end of the body, and so
    /// the start of whatever follows it, unknown.
    /// </summary>
    internal bool HasKnownBodyLength() => IsChunked() || TryGetContentLength(out _);

    /// <summary>
    /// Whether the client asked for a 100 (Continue) before it sends the body, and may hold the body back until then
    /// (RFC 9110 §10.1.1, where the expectation is matched case-insensitively).
    /// </summary>
    internal bool ExpectsContinue() => ContainsToken("Expect", "100-continue", StringComparison.OrdinalIgnoreCase, out _);

    /// <summary>
    /// Whether the body is chunked: the last transfer coding over every Transfer-Encoding header is <c>chunked</c>
    /// (RFC 9112 §6.3 rule 4, where it also overrides a Content-Length). False without Transfer-Encoding, and when its
    /// last coding is another, which leaves the body's length unknown.
    /// </summary>
    internal bool IsChunked()
    {
        ReadOnlySpan<char> last = default;
        foreach (KeyValuePair<string, string> h in _headers)
        {
            if (!string.Equals(h.Key, "Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            ReadOnlySpan<char> rest = h.Value;
            while (!rest.IsEmpty)
            {
                int comma = rest.IndexOf(',');
                ReadOnlySpan<char> coding = (comma < 0 ? rest : rest[..comma]).Trim();
                rest = comma < 0 ? default : rest[(comma + 1)..];
                if (!coding.IsEmpty)
                {
                    last = coding;
                }
            }
        }

        return last.Equals("chunked", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Every comma-separated token of every header named <paramref name="name"/>, trimmed.</summary>
    public IEnumerable<string> GetHeaderTokens(string name)
    {
        foreach (KeyValuePair<string, string> h in _headers)
        {
            if (string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                foreach (string token in h.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    yield return token;
                }
            }
        }
    }

    /// <summary>
    /// Whether a comma-separated token of a header named <paramref name="name"/> equals <paramref name="token"/> under
    /// <paramref name="comparison"/>; <paramref name="anyToken"/> tells whether such a header had any token at all.
    /// Tokens are trimmed and empty ones skipped, as <see cref="GetHeaderTokens"/> gives them, without allocating.
    /// </summary>
    internal bool ContainsToken(string name, string token, StringComparison comparison, out bool anyToken)
    {
        anyToken = false;
        foreach (KeyValuePair<string, string> h in _headers)
        {
            if (!string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            ReadOnlySpan<char> rest = h.Value;
            while (!rest.IsEmpty)
            {
                int comma = rest.IndexOf(',');
                ReadOnlySpan<char> candidate = (comma < 0 ? rest : rest[..comma]).Trim();
                rest = comma < 0 ? default : rest[(comma + 1)..];
                if (candidate.IsEmpty)
                {
                    continue;
                }

                anyToken = true;
                if (candidate.Equals(token, comparison))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
