using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ConnMsg.Messaging;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;

namespace ConnMsg.Tests.Messaging;

/// <summary>
/// A typed Cfm or Ind whose value's converter sends another typed Ind while it is being written, on the same thread:
/// both reach the client whole, the inner one first (it was queued first), each with its own data.
/// </summary>
public sealed class NestedTypedWriteTests
{
    private static readonly JsonTypeInfo<AddResult> DefaultInner = MessagingTestJsonContext.Default.AddResult;

    // Other options than the outer value's: the inner value is written by the thread's other value writer.
    private static readonly JsonTypeInfo<AddResult> RelaxedInner = new MessagingTestJsonContext(new JsonSerializerOptions
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    }).AddResult;

    private const string InnerInd = """{"type":"ind","topic":"typed.inner","data":{"sum":1,"note":"inner"}}""";

    [Theory]
    [InlineData("same options")]
    [InlineData("other options")]
    public async Task ATypedIndSentFromInsideATypedCfmsConverterLeavesBothWhole(string inner)
    {
        JsonTypeInfo<AddResult> innerInfo = inner == "same options" ? DefaultInner : RelaxedInner;
        await using TestServer server = await TestServer.StartAsync(configure: c => c.MapRequest("nested.cfm", request =>
        {
            IndSendingConverter.Inner = (request.Connection, innerInfo);
            try
            {
                request.Confirm(new Receipt("outer"), MessagingTestJsonContext.Default.Receipt);
            }
            finally
            {
                IndSendingConverter.Inner = null;
            }

            return default;
        }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        await client.SendAsync("""{"type":"req","id":1,"op":"nested.cfm"}""");

        Assert.Equal(InnerInd, await client.ReceiveAsync());
        Assert.Equal("""{"type":"cfm","id":1,"data":{"text":"outer"}}""", await client.ReceiveAsync());
        await client.AssertNothingElseArrivesAsync();
    }

    [Theory]
    [InlineData("same options")]
    [InlineData("other options")]
    public async Task ATypedIndSentFromInsideATypedIndsConverterLeavesBothWhole(string inner)
    {
        JsonTypeInfo<AddResult> innerInfo = inner == "same options" ? DefaultInner : RelaxedInner;
        await using TestServer server = await TestServer.StartAsync(configure: c => c.MapRequest("nested.ind", request =>
        {
            IndSendingConverter.Inner = (request.Connection, innerInfo);
            try
            {
                request.Connection.SendIndAsync("typed.outer", new Receipt("outer"), MessagingTestJsonContext.Default.Receipt).AsTask().GetAwaiter().GetResult();
            }
            finally
            {
                IndSendingConverter.Inner = null;
            }

            request.Confirm();
            return default;
        }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        await client.SendAsync("""{"type":"req","id":1,"op":"nested.ind"}""");

        Assert.Equal(InnerInd, await client.ReceiveAsync());
        Assert.Equal("""{"type":"ind","topic":"typed.outer","data":{"text":"outer"}}""", await client.ReceiveAsync());
        Assert.Equal("""{"type":"cfm","id":1}""", await client.ReceiveAsync());
        await client.AssertNothingElseArrivesAsync();
    }
}
