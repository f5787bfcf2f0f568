using System.Text.Json;
using ConnMsg.Hosting;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;

namespace ConnMsg.Tests.Hosting;

/// <summary>How <see cref="ConnMsgServiceCollectionExtensions.AddConnMsg"/> composes with itself.</summary>
public sealed class RegistrationTests
{
    [Fact]
    public async Task HandlersMappedAfterASecondAddConnMsgAreServedBesideTheFirstOnes()
    {
        // A library adds ConnMsg and maps its ops; the application adds ConnMsg again and maps its own.
        await using TestServer server = await TestServer.StartAsync(configure: first =>
            first.Services.AddConnMsg().MapRequest("second.registration", request =>
            {
                request.Confirm("2"u8);
                return default;
            }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        JsonElement second = await client.RequestAsync("""{"type":"req","id":1,"op":"second.registration"}""");
        Assert.Equal("cfm", second.Type());
        Assert.Equal("2", second.Raw("data"));
        JsonElement first = await client.RequestAsync("""{"type":"req","id":2,"op":"echo","data":1}""");
        Assert.Equal("cfm", first.Type());
    }
}
