using System.Net.WebSockets;
using System.Text;
using ConnMsg.Client.Internal;

namespace ConnMsg.Client.Tests;

/// <summary>The client's checks of the server's opening-handshake answer (RFC 6455 §4.1).</summary>
public sealed class WebSocketHandshakeTests
{
    // The RFC's own example: key "dGhlIHNhbXBsZSBub25jZQ==" answers "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
    private const string Key = "dGhlIHNhbXBsZSBub25jZQ==";
    private const string Accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    [Fact]
    public void AcceptIsComputedAsInTheRfcExample() => Assert.Equal(Accept, WebSocketHandshake.ExpectedAccept(Key));

    [Fact]
    public void ValidAnswerReturnsTheSelectedSubprotocol()
    {
        Assert.Equal("connmsg.v1", WebSocketHandshake.Validate(Answer(protocol: "connmsg.v1"), Key, "connmsg.v1"));
        Assert.Null(WebSocketHandshake.Validate(Answer(protocol: null), Key, "connmsg.v1"));
    }

    [Fact]
    public void HeaderNamesAndTokensAreCaseInsensitive()
    {
        var answer = Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUPGRADE: WebSocket\r\nconnection: keep-alive, upgrade\r\nsec-websocket-accept: {Accept}\r\n\r\n");
        Assert.Null(WebSocketHandshake.Validate(answer, Key, "connmsg.v1"));
    }

    [Fact]
    public void StatusOtherThan101IsRefusedWithTheStatusInTheMessage()
    {
        var answer = Encoding.ASCII.GetBytes("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
        var e = Assert.Throws<WebSocketException>(() => WebSocketHandshake.Validate(answer, Key, "connmsg.v1"));
        Assert.Contains("'401'", e.Message);
    }

    [Fact]
    public void WrongAcceptIsRefused()
    {
        var e = Assert.Throws<WebSocketException>(() => WebSocketHandshake.Validate(Answer(accept: "AAAA"), Key, "connmsg.v1"));
        Assert.Contains("Sec-WebSocket-Accept", e.Message);
    }

    [Fact]
    public void MissingUpgradeHeaderIsRefused()
    {
        var answer = Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {Accept}\r\n\r\n");
        Assert.Throws<WebSocketException>(() => WebSocketHandshake.Validate(answer, Key, "connmsg.v1"));
    }

    [Fact]
    public void SubprotocolThatWasNotOfferedIsRefused()
        => Assert.Throws<ConnMsgException>(() => WebSocketHandshake.Validate(Answer(protocol: "other.v2"), Key, "connmsg.v1"));

    [Fact]
    public void ExtensionThatWasNotOfferedIsRefused()
    {
        var answer = Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {Accept}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n");
        Assert.Throws<WebSocketException>(() => WebSocketHandshake.Validate(answer, Key, "connmsg.v1"));
    }

    [Fact]
    public void RequestCarriesKeyVersionSubprotocolAndHostWithPort()
    {
        string request = Encoding.ASCII.GetString(WebSocketHandshake.BuildRequest(new Uri("ws://example.test:8080/ws?x=1"), Key, "connmsg.v1"));
        Assert.StartsWith("GET /ws?x=1 HTTP/1.1\r\n", request);
        Assert.Contains("\r\nHost: example.test:8080\r\n", request);
        Assert.Contains($"\r\nSec-WebSocket-Key: {Key}\r\n", request);
        Assert.Contains("\r\nSec-WebSocket-Version: 13\r\n", request);
        Assert.Contains("\r\nSec-WebSocket-Protocol: connmsg.v1\r\n", request);
        Assert.EndsWith("\r\n\r\n", request);
        Assert.Equal(-1, WebSocketHandshake.FindEnd(Encoding.ASCII.GetBytes(request)[..^1]));
        Assert.Equal(request.Length, WebSocketHandshake.FindEnd(Encoding.ASCII.GetBytes(request)));
    }

    private static byte[] Answer(string? protocol = "connmsg.v1", string accept = Accept)
        => Encoding.ASCII.GetBytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + $"Sec-WebSocket-Accept: {accept}\r\n" + (protocol is null ? "" : $"Sec-WebSocket-Protocol: {protocol}\r\n") + "\r\n");
}
