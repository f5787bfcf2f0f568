using System.Buffers;
using System.Text;
using ConnMsg.Http;
using ConnMsg.Tests.Transport;

namespace ConnMsg.Tests.Http;

/// <summary>The hand-written HTTP/1.1 request head parser (RFC 9112 §3, §5) and its limits.</summary>
public class HttpRequestHeadParserTests
{
    private const int MaxLine = 8 * 1024, MaxHead = 16 * 1024, MaxHeaders = 64;

    private const string Upgrade =
        "GET /ws?token=abc HTTP/1.1\r\n" +
        "Host: example.com:8080\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: keep-alive, Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "Sec-WebSocket-Version: 13\r\n" +
        "Sec-WebSocket-Protocol: chat, connmsg.v1\r\n" +
        "X-Empty:\r\n" +
        "X-Padded: \t padded value \t\r\n" +
        "\r\n";

    private static (bool Ok, HttpRequestHead? Head, HttpParseError Error, long Consumed) Parse(ReadOnlySequence<byte> input,
        int maxLine = MaxLine, int maxHead = MaxHead, int maxHeaders = MaxHeaders)
    {
        var reader = new SequenceReader<byte>(input);
        bool ok = HttpRequestHeadParser.TryReadRequestHead(ref reader, maxLine, maxHead, maxHeaders, out HttpRequestHead? head, out HttpParseError error);
        return (ok, head, error, reader.Consumed);
    }

    private static byte[] Bytes(string s) => Encoding.Latin1.GetBytes(s);

    private static void AssertUpgradeHead(HttpRequestHead? head)
    {
        Assert.NotNull(head);
        Assert.Equal("GET", head.Method);
        Assert.Equal("/ws", head.Path);
        Assert.Equal("?token=abc", head.Query);
        Assert.Equal("HTTP/1.1", head.Version);
        Assert.Equal(8, head.Headers.Count);
        Assert.Equal("example.com:8080", head.GetHeader("host"));
        Assert.Equal(["keep-alive", "Upgrade"], head.GetHeaderTokens("Connection"));
        Assert.Equal(["chat", "connmsg.v1"], head.GetHeaderTokens("sec-websocket-protocol"));
        Assert.Equal("", head.GetHeader("X-Empty"));
        Assert.Equal("padded value", head.GetHeader("X-Padded"));
        Assert.Null(head.GetHeader("Origin"));
    }

    [Fact]
    public void ValidRequestWholeIsParsedAndConsumedExactly()
    {
        byte[] input = [.. Bytes(Upgrade), 0x81, 0x80]; // a frame right behind the head stays unread
        var r = Parse(new ReadOnlySequence<byte>(input));
        Assert.True(r.Ok);
        Assert.Equal(HttpParseError.None, r.Error);
        Assert.Equal(Upgrade.Length, r.Consumed);
        AssertUpgradeHead(r.Head);
    }

    [Fact]
    public void ValidRequestOneSegmentPerByteIsParsed()
    {
        var r = Parse(Segments.OnePerByte(Bytes(Upgrade)));
        Assert.True(r.Ok);
        Assert.Equal(Upgrade.Length, r.Consumed);
        AssertUpgradeHead(r.Head);
    }

    [Fact]
    public void ValidRequestByteByByteNeedsMoreAtEveryPrefixAndConsumesNothing()
    {
        byte[] input = Bytes(Upgrade);
        for (int length = 0; length < input.Length; length++)
        {
            var r = Parse(Segments.OnePerByte(input[..length]));
            Assert.True((r.Ok, r.Error, r.Consumed) == (false, HttpParseError.None, 0L), $"prefix {length}: {r.Error}");
        }

        AssertUpgradeHead(Parse(Segments.OnePerByte(input)).Head);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void EmptyLinesBeforeTheRequestLineAreSkippedAndConsumedWithTheHead(int emptyLines)
    {
        // RFC 9112 §2.2: a server expecting a request line SHOULD ignore at least one empty line (CRLF) before it.
        byte[] input = Bytes(string.Concat(Enumerable.Repeat("\r\n", emptyLines)) + Upgrade);
        var whole = Parse(new ReadOnlySequence<byte>([.. input, 0x81, 0x80]));
        var perByte = Parse(Segments.OnePerByte(input));
        Assert.True(whole.Ok, whole.Error.ToString());
        Assert.True(perByte.Ok, perByte.Error.ToString());
        Assert.Equal((input.Length, input.Length), (whole.Consumed, perByte.Consumed));
        AssertUpgradeHead(whole.Head);
        AssertUpgradeHead(perByte.Head);
        for (int length = 0; length < input.Length; length++)
        {
            var r = Parse(Segments.OnePerByte(input[..length]));
            Assert.True((r.Ok, r.Error, r.Consumed) == (false, HttpParseError.None, 0L), $"prefix {length}: {r.Error}");
        }
    }

    [Fact]
    public void OnlyFourEmptyLinesBeforeTheRequestLineAreSkipped()
    {
        // A fifth is an empty request line: malformed, whether or not the rest of the head has arrived.
        string five = string.Concat(Enumerable.Repeat("\r\n", 5));
        Assert.Equal(HttpParseError.MalformedRequestLine, Parse(new ReadOnlySequence<byte>(Bytes(five + "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))).Error);
        Assert.Equal(HttpParseError.MalformedRequestLine, Parse(Segments.OnePerByte(Bytes(five + "\r\n"))).Error);
    }

    [Fact]
    public void EmptyLinesBeforeTheRequestLineCountAgainstTheHeadLimit()
    {
        string head = "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
        Assert.True(Parse(new ReadOnlySequence<byte>(Bytes(head)), maxHead: head.Length).Ok);
        Assert.Equal(HttpParseError.HeadTooLarge, Parse(new ReadOnlySequence<byte>(Bytes(head)), maxHead: head.Length - 1).Error);
        Assert.Equal(HttpParseError.HeadTooLarge, Parse(new ReadOnlySequence<byte>(Bytes(head[..^2])), maxHead: head.Length - 3).Error);
    }

    [Fact]
    public void HeadSplitInsideTheEndOfHeadMarkerIsParsed()
    {
        byte[] input = Bytes(Upgrade);
        for (int cut = input.Length - 4; cut < input.Length; cut++)
        {
            var r = Parse(Segments.Split(input, cut));
            Assert.True(r.Ok, $"cut at {cut}");
            AssertUpgradeHead(r.Head);
        }
    }

    [Fact]
    public void RequestLineOverTheLimitIsReportedAsSoonAsExceededWhileIncomplete()
    {
        const int limit = 100;
        byte[] line = Bytes("GET /" + new string('a', 200));
        for (int length = 1; length <= line.Length; length++)
        {
            var r = Parse(new ReadOnlySequence<byte>(line[..length]), maxLine: limit);
            HttpParseError expected = length > limit ? HttpParseError.RequestLineTooLong : HttpParseError.None;
            Assert.True((r.Ok, r.Error, r.Consumed) == (false, expected, 0L), $"prefix {length}: {r.Error}");
        }
    }

    [Fact]
    public void RequestLineOfExactlyTheLimitIsAcceptedFedByteByByte()
    {
        const int limit = 64;
        string line = "GET /" + new string('a', limit - "GET / HTTP/1.1".Length) + " HTTP/1.1";
        Assert.Equal(limit, line.Length);
        byte[] input = Bytes(line + "\r\nHost: x\r\n\r\n");
        for (int length = 0; length < input.Length; length++)
        {
            var r = Parse(new ReadOnlySequence<byte>(input[..length]), maxLine: limit);
            Assert.True(r.Error == HttpParseError.None, $"prefix {length} of a request line of exactly the limit: {r.Error}");
        }

        Assert.True(Parse(new ReadOnlySequence<byte>(input), maxLine: limit).Ok);
    }

    [Fact]
    public void CompleteRequestLineOverTheLimitIsRefused()
    {
        string line = "GET /" + new string('a', 60) + " HTTP/1.1";
        var r = Parse(new ReadOnlySequence<byte>(Bytes(line + "\r\nHost: x\r\n\r\n")), maxLine: line.Length - 1);
        Assert.Equal((false, HttpParseError.RequestLineTooLong), (r.Ok, r.Error));
    }

    [Fact]
    public void HeadOverTheLimitIsReportedAsSoonAsExceededWhileIncomplete()
    {
        const int limit = 300;
        byte[] input = Bytes("GET /ws HTTP/1.1\r\n" + string.Concat(Enumerable.Range(0, 40).Select(i => $"X-H{i}: value\r\n")));
        Assert.True(input.Length > limit);
        for (int length = 1; length <= input.Length; length++)
        {
            var r = Parse(new ReadOnlySequence<byte>(input[..length]), maxHead: limit);
            HttpParseError expected = length > limit ? HttpParseError.HeadTooLarge : HttpParseError.None;
            Assert.True((r.Ok, r.Error, r.Consumed) == (false, expected, 0L), $"prefix {length}: {r.Error}");
        }
    }

    [Fact]
    public void HeadOfExactlyTheLimitIsAcceptedAndOneMoreByteIsNot()
    {
        string head = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        Assert.True(Parse(new ReadOnlySequence<byte>(Bytes(head)), maxHead: head.Length).Ok);
        Assert.Equal(HttpParseError.HeadTooLarge, Parse(new ReadOnlySequence<byte>(Bytes(head)), maxHead: head.Length - 1).Error);
    }

    [Fact]
    public void HeaderCountOverTheLimitIsRefused()
    {
        string head = "GET / HTTP/1.1\r\n" + string.Concat(Enumerable.Range(0, 5).Select(i => $"X-H{i}: v\r\n")) + "\r\n";
        Assert.True(Parse(new ReadOnlySequence<byte>(Bytes(head)), maxHeaders: 5).Ok);
        var r = Parse(new ReadOnlySequence<byte>(Bytes(head)), maxHeaders: 4);
        Assert.Equal((false, HttpParseError.TooManyHeaders, 0L), (r.Ok, r.Error, r.Consumed));
    }

    [Fact]
    public void HeaderCountOverTheLimitIsReportedAsSoonAsExceededWhileIncomplete()
    {
        // Five complete header lines with a limit of four: known to be too many before the blank line arrives.
        string partial = "GET / HTTP/1.1\r\n" + string.Concat(Enumerable.Range(0, 5).Select(i => $"X-H{i}: v\r\n"));
        var r = Parse(new ReadOnlySequence<byte>(Bytes(partial)), maxHeaders: 4);
        Assert.Equal((false, HttpParseError.TooManyHeaders, 0L), (r.Ok, r.Error, r.Consumed));
    }

    public static TheoryData<string, string, string> Malformed => new()
    {
        { "no target", "GET\r\nHost: x\r\n\r\n", nameof(HttpParseError.MalformedRequestLine) },
        { "no version", "GET /\r\nHost: x\r\n\r\n", nameof(HttpParseError.MalformedRequestLine) },
        { "double space", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", nameof(HttpParseError.MalformedRequestLine) },
        { "leading space", " GET / HTTP/1.1\r\nHost: x\r\n\r\n", nameof(HttpParseError.MalformedRequestLine) },
        { "target not origin-form", "GET ws HTTP/1.1\r\nHost: x\r\n\r\n", nameof(HttpParseError.MalformedRequestLine) },
        { "control byte in target", "GET /a\u0001b HTTP/1.1\r\nHost: x\r\n\r\n", nameof(HttpParseError.MalformedRequestLine) },
        { "method not a token", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", nameof(HttpParseError.MalformedRequestLine) },
        { "lower-case version", "GET / http/1.1\r\nHost: x\r\n\r\n", nameof(HttpParseError.MalformedRequestLine) },
        { "HTTP/1.0", "GET / HTTP/1.0\r\nHost: x\r\n\r\n", nameof(HttpParseError.UnsupportedVersion) },
        { "HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", nameof(HttpParseError.UnsupportedVersion) },
        { "header without colon", "GET / HTTP/1.1\r\nHost x\r\n\r\n", nameof(HttpParseError.MalformedHeader) },
        { "empty header name", "GET / HTTP/1.1\r\n: x\r\n\r\n", nameof(HttpParseError.MalformedHeader) },
        { "space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", nameof(HttpParseError.MalformedHeader) },
        { "obsolete line folding", "GET / HTTP/1.1\r\nHost: x\r\n  folded\r\n\r\n", nameof(HttpParseError.MalformedHeader) },
        { "NUL in value", "GET / HTTP/1.1\r\nHost: x\u0000y\r\n\r\n", nameof(HttpParseError.MalformedHeader) },
        { "bare LF in value", "GET / HTTP/1.1\r\nHost: x\ny\r\n\r\n", nameof(HttpParseError.MalformedHeader) },
        { "control byte in value", "GET / HTTP/1.1\r\nX-A: a\u0001b\r\n\r\n", nameof(HttpParseError.MalformedHeader) },
        { "DEL in value", "GET / HTTP/1.1\r\nX-A: a\u007fb\r\n\r\n", nameof(HttpParseError.MalformedHeader) },
        { "extra token after the version", "GET /ws HTTP/1.1 junk\r\nHost: x\r\n\r\n", nameof(HttpParseError.MalformedRequestLine) },
        { "version not DIGIT.DIGIT", "GET /ws HTTP/1.10\r\nHost: x\r\n\r\n", nameof(HttpParseError.MalformedRequestLine) },
        { "asterisk-form", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", nameof(HttpParseError.MalformedRequestLine) },
        { "absolute-form of another scheme", "GET ftp://x/ws HTTP/1.1\r\nHost: x\r\n\r\n", nameof(HttpParseError.MalformedRequestLine) },
        { "absolute-form without authority", "GET http:///ws HTTP/1.1\r\nHost: x\r\n\r\n", nameof(HttpParseError.MalformedRequestLine) },
        { "absolute-form of nothing but the scheme", "GET http:// HTTP/1.1\r\nHost: x\r\n\r\n", nameof(HttpParseError.MalformedRequestLine) },
    };

    public static TheoryData<string, string, string> BareLineEnds => new()
    {
        { "bare LF everywhere", "GET /ws HTTP/1.1\nHost: localhost\n\n", nameof(HttpParseError.MalformedRequestLine) },
        { "bare LF after the first header", "GET /ws HTTP/1.1\r\nHost: localhost\nUpgrade: websocket\n\n", nameof(HttpParseError.MalformedHeader) },
        { "bare LF as the blank line", "GET /ws HTTP/1.1\r\nHost: localhost\r\n\n", nameof(HttpParseError.MalformedHeader) },
        { "bare CR ending the request line", "GET /ws HTTP/1.1\rHost: localhost\r\r", nameof(HttpParseError.MalformedRequestLine) },
        { "bare CR ending a header", "GET /ws HTTP/1.1\r\nHost: localhost\rUpgrade: websocket\r\n\r\n", nameof(HttpParseError.MalformedHeader) },
        { "bare LF before the request line", "\nGET /ws HTTP/1.1\r\nHost: localhost\r\n\r\n", nameof(HttpParseError.MalformedRequestLine) },
        { "bare LF after an empty line before the request line", "\r\n\nGET /ws HTTP/1.1\r\nHost: localhost\r\n\r\n", nameof(HttpParseError.MalformedRequestLine) },
        { "bare CR before the request line", "\rGET /ws HTTP/1.1\r\nHost: localhost\r\n\r\n", nameof(HttpParseError.MalformedRequestLine) },
    };

    [Theory]
    [MemberData(nameof(BareLineEnds))]
    public void LineNotEndedByCrlfIsRefusedAsSoonAsItArrives(string name, string head, string error)
    {
        // RFC 9112 §2.2: a line ends with CRLF; a bare LF or CR makes the head invalid (400), not merely unfinished, so
        // the answer must not wait for a CRLFCRLF that such a client never sends.
        var expected = Enum.Parse<HttpParseError>(error);
        byte[] input = Bytes(head);
        int knownAt = FirstBareLineEnd(input) + 1;
        for (int length = 0; length <= input.Length; length++)
        {
            HttpParseError due = length >= knownAt ? expected : HttpParseError.None;
            var whole = Parse(new ReadOnlySequence<byte>(input[..length]));
            var perByte = Parse(Segments.OnePerByte(input[..length]));
            Assert.True((whole.Ok, whole.Error, whole.Consumed) == (false, due, 0L), $"{name}, prefix {length}: {whole.Error}");
            Assert.True((perByte.Ok, perByte.Error, perByte.Consumed) == (false, due, 0L), $"{name}, prefix {length} one segment per byte: {perByte.Error}");
        }
    }

    // Where a bare line end becomes known: at an LF not after a CR, or at the byte after a CR that is not an LF.
    private static int FirstBareLineEnd(byte[] input)
    {
        for (int i = 0; i < input.Length; i++)
        {
            if (input[i] == '\n' && (i == 0 || input[i - 1] != '\r'))
            {
                return i;
            }

            if (input[i] == '\r' && i + 1 < input.Length && input[i + 1] != '\n')
            {
                return i + 1;
            }
        }

        throw new ArgumentException("no bare line end", nameof(input));
    }

    [Theory]
    [InlineData("GET http://example.com/ws?token=1 HTTP/1.1", "/ws", "?token=1")]
    [InlineData("GET HTTPS://example.com:8443/ws HTTP/1.1", "/ws", "")]
    [InlineData("GET http://example.com HTTP/1.1", "/", "")]
    [InlineData("GET http://example.com?x=1 HTTP/1.1", "/", "?x=1")]
    public void AbsoluteFormIsAcceptedAndReadAsItsPathAndQuery(string requestLine, string path, string query)
    {
        // RFC 9112 §3.2.2: a server must accept absolute-form, whatever clients usually send.
        var r = Parse(new ReadOnlySequence<byte>(Bytes(requestLine + "\r\nHost: example.com\r\n\r\n")));
        Assert.True(r.Ok, r.Error.ToString());
        Assert.Equal((path, query), (r.Head!.Path, r.Head.Query));
    }

    [Fact]
    public void TabsAndObsTextAreAllowedInAFieldValue()
    {
        var r = Parse(new ReadOnlySequence<byte>(Bytes("GET / HTTP/1.1\r\nX-A: a\tb \u00e9\r\n\r\n")));
        Assert.True(r.Ok, r.Error.ToString());
        Assert.Equal("a\tb \u00e9", r.Head!.GetHeader("X-A"));
    }

    [Theory]
    [InlineData("example.com", true)]
    [InlineData("example.com:8080", true)]
    [InlineData("127.0.0.1:80", true)]
    [InlineData("[::1]:8080", true)]
    [InlineData("[::1]", true)]
    [InlineData("", true)]      // a target without authority
    [InlineData("host:", true)] // port = *DIGIT
    [InlineData("a b/c", false)]
    [InlineData("example.com:80x", false)]
    [InlineData("[::1", false)]
    [InlineData("[]", false)]
    [InlineData("ex@mple.com", false)]
    public void HostIsUriHostAndAnOptionalPort(string host, bool valid) =>
        Assert.Equal(valid, WebSocketHandshake.IsValidHost(host));

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedHeadIsRefusedWholeAndOneSegmentPerByte(string name, string head, string error)
    {
        var expected = Enum.Parse<HttpParseError>(error);
        var whole = Parse(new ReadOnlySequence<byte>(Bytes(head)));
        var perByte = Parse(Segments.OnePerByte(Bytes(head)));
        Assert.True((whole.Ok, whole.Error, whole.Consumed) == (false, expected, 0L), $"{name}: {whole.Error}");
        Assert.True((perByte.Ok, perByte.Error, perByte.Consumed) == (false, expected, 0L), $"{name}: {perByte.Error}");
    }

    [Theory]
    [InlineData("", true, 0L)]
    [InlineData("Content-Length: 0\r\n", true, 0L)]
    [InlineData("Content-Length: 65536\r\n", true, 65536L)]
    [InlineData("content-length:  12 \r\n", true, 12L)]
    [InlineData("Content-Length: 5\r\nContent-Length: 5\r\n", false, 0L)] // RFC 9112 §6.3: the framing is not one clear length
    [InlineData("Content-Length: 5, 5\r\n", false, 0L)]
    [InlineData("Content-Length: -1\r\n", false, 0L)]
    [InlineData("Content-Length: +5\r\n", false, 0L)]
    [InlineData("Content-Length: 1234567890123456789\r\n", false, 0L)]
    [InlineData("Transfer-Encoding: chunked\r\n", false, 0L)]
    [InlineData("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", false, 0L)]
    public void TheDeclaredBodyLengthIsOneContentLengthOfDigitsAndNoTransferEncoding(string headers, bool readable, long length)
    {
        var r = Parse(new ReadOnlySequence<byte>(Bytes("POST / HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n")));
        Assert.True(r.Ok, r.Error.ToString());
        Assert.Equal((readable, length), (r.Head!.TryGetContentLength(out long declared), declared));
    }

    [Theory]
    [InlineData("", false)]
    [InlineData("Content-Length: 5\r\n", false)]
    [InlineData("Transfer-Encoding: chunked\r\n", true)]
    [InlineData("transfer-encoding: CHUNKED \r\n", true)]
    [InlineData("Transfer-Encoding: gzip, chunked\r\n", true)]
    [InlineData("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", true)] // one list over both headers
    [InlineData("Transfer-Encoding: chunked, \r\n", true)] // an empty list element is no coding
    [InlineData("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", true)] // RFC 9112 §6.3: it overrides Content-Length
    [InlineData("Transfer-Encoding: chunked, gzip\r\n", false)] // not the final coding: the length cannot be known
    [InlineData("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", false)]
    [InlineData("Transfer-Encoding: xchunked\r\n", false)]
    public void TheBodyIsChunkedWhenTheLastTransferCodingIsChunked(string headers, bool chunked)
    {
        var r = Parse(new ReadOnlySequence<byte>(Bytes("POST / HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n")));
        Assert.True(r.Ok, r.Error.ToString());
        Assert.Equal(chunked, r.Head!.IsChunked());
    }

    [Fact]
    public void SecWebSocketAcceptOfTheRfc6455SampleKey()
    {
        // RFC 6455 §1.3.
        byte[] written = new byte[WebSocketHandshake.AcceptLength];
        int n = WebSocketHandshake.WriteAccept("dGhlIHNhbXBsZSBub25jZQ==", written);
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", Encoding.ASCII.GetString(written, 0, n));
    }
}
