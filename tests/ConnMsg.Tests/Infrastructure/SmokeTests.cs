using ConnMsg.Tests.Infrastructure;

namespace ConnMsg.Tests;

public class SmokeTests
{
    [Fact]
    public async Task EchoRoundTripsThroughTheRealListener()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        Assert.Equal("$session", client.Session.Str("topic"));
        var answer = await client.RequestAsync("""{"type":"req","id":1,"op":"echo","data":{"x":1}}""");
        Assert.Equal("cfm", answer.Type());
        Assert.Equal("""{"x":1}""", answer.Raw("data"));
    }
}
