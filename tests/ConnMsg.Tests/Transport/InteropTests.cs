using System.Net.WebSockets;
using System.Text;
using ConnMsg.Tests.Infrastructure;

namespace ConnMsg.Tests.Transport;

/// <summary>Our server against the BCL's <see cref="ClientWebSocket"/>, a client nobody on this team wrote.</summary>
public class InteropTests : IClassFixture<RawServerFixture>
{
    private readonly RawServerFixture _fixture;

    public InteropTests(RawServerFixture fixture) => _fixture = fixture;

    [Fact]
    public async Task SixtyKiBTextSentAsFragmentsIsEchoed()
    {
        await using WsClient client = await WsClient.ConnectAsync(_fixture.Server.WebSocketUri);
        string data = string.Concat(Enumerable.Range(0, 60 * 1024 / 16).Select(i => $"{i:D6}-\u00e9\u20ac\U0001F600-")); // multi-byte code points land on chunk edges
        byte[] message = Encoding.UTF8.GetBytes($$"""{"type":"req","id":"big","op":"echo","data":"{{data}}"}""");
        Assert.InRange(message.Length, 60 * 1024, 64 * 1024);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        const int chunk = 4093; // not a multiple of anything: code points get split between frames
        for (int at = 0; at < message.Length; at += chunk)
        {
            int n = Math.Min(chunk, message.Length - at);
            await client.Socket.SendAsync(message.AsMemory(at, n), WebSocketMessageType.Text, endOfMessage: at + n == message.Length, cts.Token);
        }

        var answer = Json.Parse(await client.ReceiveAsync());
        Assert.Equal(("cfm", "\"big\""), (answer.Type(), answer.Raw("id")));
        Assert.Equal(data, answer.Str("data"));
    }

    [Fact]
    public async Task CloseHandshakeFromTheClientCompletesWith1000()
    {
        await using WsClient client = await WsClient.ConnectAsync(_fixture.Server.WebSocketUri);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await client.Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);
        Assert.Equal(WebSocketState.Closed, client.Socket.State);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.Socket.CloseStatus);
    }

    [Fact]
    public async Task ClientWebSocketWithoutSubprotocolIsAccepted()
    {
        await using WsClient client = await WsClient.ConnectAsync(_fixture.Server.WebSocketUri, subProtocol: null);
        Assert.Null(client.Socket.SubProtocol);
        Assert.Equal("$session", client.Session.Str("topic"));
    }

    [Fact]
    public async Task ClientWebSocketGetsConnmsgV1Selected()
    {
        await using WsClient client = await WsClient.ConnectAsync(_fixture.Server.WebSocketUri);
        Assert.Equal("connmsg.v1", client.Socket.SubProtocol);
    }

    [Fact]
    public async Task BinaryFromClientWebSocketIsClosedWith1003()
    {
        await using WsClient client = await WsClient.ConnectAsync(_fixture.Server.WebSocketUri);
        await client.Socket.SendAsync(new byte[] { 1 }, WebSocketMessageType.Binary, true, CancellationToken.None);
        Assert.Equal(1003, await client.ReceiveCloseAsync());
    }
}
