namespace ConnMsg.Http;

/// <summary>A plain HTTP response answered on the WebSocket port (PROTOCOL.md §7).</summary>
public sealed class HttpResponse
{
    /// <summary>Creates a response.</summary>
    public HttpResponse(int status, string contentType, ReadOnlyMemory<byte> body, IReadOnlyList<KeyValuePair<string, string>>? headers = null)
    {
        Status = status;
        ContentType = contentType;
        Body = body;
        Headers = headers ?? Array.Empty<KeyValuePair<string, string>>();
    }

    /// <summary>Status code.</summary>
    public int Status { get; }

    /// <summary>Content-Type header value.</summary>
    public string ContentType { get; }

    /// <summary>Body bytes.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>Extra headers.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>A <c>text/plain</c> response with a one-line body.</summary>
    public static HttpResponse Text(int status, string line, params KeyValuePair<string, string>[] headers) =>
        new(status, "text/plain; charset=utf-8", System.Text.Encoding.UTF8.GetBytes(line + "\n"), headers);
}
