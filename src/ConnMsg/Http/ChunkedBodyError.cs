namespace ConnMsg.Http;

/// <summary>Why the reading of a chunked request body stopped before its end (see <see cref="ChunkedBodySkipper"/>).</summary>
internal enum ChunkedBodyError
{
    None,

    /// <summary>A chunk-size line that is not hex digits, optionally followed by extensions (RFC 9112 §7.1, §7.1.1).</summary>
    MalformedChunkSize,

    /// <summary>A chunk's data not followed by CRLF.</summary>
    MalformedChunkEnd,

    /// <summary>A line of the framing (a chunk size, a trailer field) that ends otherwise than with CRLF, or holds a bare CR.</summary>
    MalformedLine,

    /// <summary>A line of the framing longer than its limit.</summary>
    LineTooLong,

    /// <summary>More bytes than the body may have, known from a chunk's declared size or from the bytes so far.</summary>
    TooLarge,
}
