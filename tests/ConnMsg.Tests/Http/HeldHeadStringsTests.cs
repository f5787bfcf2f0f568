using System.Buffers;
using System.Text;
using ConnMsg.Http;

namespace ConnMsg.Tests.Http;

/// <summary>
/// The request head lives as long as its connection, so the strings most handshakes repeat are shared between heads.
/// </summary>
/// <remarks>
/// The last Host, Origin, User-Agent and target seen are process-wide: a handshake of another test running at the same
/// time would replace them between the two parses here, so this class runs alone.
/// </remarks>
[Collection(nameof(ProcessWideHeadStrings))]
public sealed class HeldHeadStringsTests
{
    private static HttpRequestHead? Parse(byte[] input)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(input));
        HttpRequestHeadParser.TryReadRequestHead(ref reader, 8 * 1024, 16 * 1024, 64, out HttpRequestHead? head, out _);
        return head;
    }

    private static byte[] Bytes(string s) => Encoding.Latin1.GetBytes(s);

    [Fact]
    public void HeldHeadsOfAlikeHandshakesShareTheirStringsButNotTheirCredentials()
    {
        // Every held connection keeps its head: what most handshakes repeat is kept once, not once per connection.
        static HttpRequestHead Head(string key, string token) => Parse(Bytes(
            "GET /gateway HTTP/1.1\r\nHost: gw.example.com\r\nOrigin: https://app.example.com\r\nUser-Agent: probe/1\r\n" +
            $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Protocol: connmsg.v1\r\nAuthorization: Bearer {token}\r\n\r\n"))!;

        HttpRequestHead first = Head("dGhlIHNhbXBsZSBub25jZQ==", "abc");
        HttpRequestHead second = Head("AQIDBAUGBwgJCgsMDQ4PEA==", "abc");
        Assert.Same(first.Method, second.Method);
        Assert.Same(first.Path, second.Path);
        foreach (string name in new[] { "Host", "Origin", "User-Agent", "Sec-WebSocket-Protocol" })
        {
            Assert.Same(first.GetHeader(name), second.GetHeader(name));
        }

        Assert.NotSame(first.GetHeader("Authorization"), second.GetHeader("Authorization"));
        Assert.Equal(first.GetHeader("Authorization"), second.GetHeader("Authorization"));
        Assert.Equal("AQIDBAUGBwgJCgsMDQ4PEA==", second.GetHeader("Sec-WebSocket-Key"));

        // A different host is a different string, and a query (where browsers put tokens) is never kept for the next.
        Assert.Equal("other.example.com", Parse(Bytes("GET /gateway HTTP/1.1\r\nHost: other.example.com\r\n\r\n"))!.GetHeader("Host"));
        HttpRequestHead withQuery = Parse(Bytes("GET /gateway?token=x HTTP/1.1\r\nHost: h\r\n\r\n"))!;
        HttpRequestHead again = Parse(Bytes("GET /gateway?token=x HTTP/1.1\r\nHost: h\r\n\r\n"))!;
        Assert.Equal(("/gateway", "?token=x"), (again.Path, again.Query));
        Assert.NotSame(withQuery.Query, again.Query);
    }
}

[CollectionDefinition(nameof(ProcessWideHeadStrings), DisableParallelization = true)]
public sealed class ProcessWideHeadStrings
{
}
