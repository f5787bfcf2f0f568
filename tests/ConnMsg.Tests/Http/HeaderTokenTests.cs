using ConnMsg.Http;

namespace ConnMsg.Tests.Http;

/// <summary>
/// Comma-separated header tokens (RFC 9110 §5.6.1) as the handshake checks them: Upgrade, Connection and
/// Sec-WebSocket-Protocol are matched token by token, never as substrings, across every field line of the name.
/// </summary>
public class HeaderTokenTests
{
    private static HttpRequestHead Head(params (string Name, string Value)[] headers) =>
        new("GET", "/ws", string.Empty, "HTTP/1.1", headers.Select(h => new KeyValuePair<string, string>(h.Name, h.Value)).ToArray());

    [Theory]
    [InlineData("Upgrade", true)]
    [InlineData("keep-alive, Upgrade", true)]
    [InlineData("keep-alive,upgrade", true)]
    [InlineData(" ,  Upgrade ,", true)]
    [InlineData("keep-alive", false)]
    [InlineData("Upgraded", false)]
    [InlineData("keep-alive Upgrade", false)]
    [InlineData("", false)]
    public void AConnectionTokenMatchesWholeAndCaseInsensitively(string value, bool expected)
    {
        Assert.Equal(expected, Head(("Connection", value)).ContainsToken("Connection", "Upgrade", StringComparison.OrdinalIgnoreCase, out _));
    }

    [Fact]
    public void ATokenIsFoundInAnyFieldLineOfTheName()
    {
        HttpRequestHead head = Head(("connection", "keep-alive"), ("Host", "x"), ("CONNECTION", "Upgrade"));
        Assert.True(head.ContainsToken("Connection", "upgrade", StringComparison.OrdinalIgnoreCase, out bool any));
        Assert.True(any);
    }

    [Theory]
    [InlineData("connmsg.v1", true, true)]
    [InlineData("chat, connmsg.v1, other", true, true)]
    [InlineData("Connmsg.v1", false, true)]
    [InlineData("chat", false, true)]
    [InlineData(" , ,", false, false)]
    [InlineData("", false, false)]
    public void ASubprotocolMatchesExactlyAndAnyTokenTellsWhetherOneWasOffered(string value, bool expected, bool offered)
    {
        HttpRequestHead head = Head(("Sec-WebSocket-Protocol", value));
        Assert.Equal(expected, head.ContainsToken("Sec-WebSocket-Protocol", "connmsg.v1", StringComparison.Ordinal, out bool any));
        Assert.Equal(offered, any);
    }

    [Fact]
    public void NoFieldOfTheNameMeansNoTokenOffered()
    {
        Assert.False(Head(("Host", "x")).ContainsToken("Sec-WebSocket-Protocol", "connmsg.v1", StringComparison.Ordinal, out bool any));
        Assert.False(any);
    }

    [Theory]
    [InlineData("a, b,,c ,  d")]
    [InlineData(" , ")]
    [InlineData("single")]
    [InlineData("\ttabbed\t, x")]
    public void ContainsTokenAgreesWithTheTokensTheHeadListsForTheName(string value)
    {
        HttpRequestHead head = Head(("X-List", value), ("x-list", "e"));
        string[] tokens = head.GetHeaderTokens("X-List").ToArray();
        foreach (string token in tokens)
        {
            Assert.True(head.ContainsToken("X-List", token, StringComparison.Ordinal, out bool any), token);
            Assert.True(any);
        }

        Assert.False(head.ContainsToken("X-List", "absent", StringComparison.Ordinal, out bool anyAtAll));
        Assert.Equal(tokens.Length > 0, anyAtAll);
    }
}
