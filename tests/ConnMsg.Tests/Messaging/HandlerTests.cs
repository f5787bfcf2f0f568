using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ConnMsg.Hosting;
using ConnMsg.Messaging;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ConnMsg.Tests.Messaging;

/// <summary>Application handlers mapped through <see cref="ConnMsgBuilder.MapRequest(string, ConnMsgRequestHandler)"/>, raw and typed, and §8 ordering.</summary>
public sealed class HandlerTests
{
    private static void MapTestOps(ConnMsgBuilder c)
    {
        c.MapRequest("math.add", MessagingTestJsonContext.Default.AddArgs, MessagingTestJsonContext.Default.AddResult, (args, _, _) =>
            args is null ? throw new ConnMsgRejectException(RejectCodes.InvalidArgument, "data required") : ValueTask.FromResult(new AddResult(args.A + args.B)));

        c.MapRequest("math.add.async", MessagingTestJsonContext.Default.AddArgs, MessagingTestJsonContext.Default.AddResult, async (args, connection, ct) =>
        {
            await Task.Delay(1, ct);
            return new AddResult(args!.A + args.B, connection.Id);
        });

        // Raw: reverses the bytes of a JSON string's content, and reports the op and raw id it saw.
        c.MapRequest("raw.inspect", request =>
        {
            string id = Encoding.UTF8.GetString(request.RawId);
            string data = Encoding.UTF8.GetString(request.Data.Span);
            request.Confirm(JsonSerializer.SerializeToUtf8Bytes(new[] { request.Op, id, data, request.HasData ? "has" : "none" }));
            return default;
        });

        // §8: answers, then publishes; the cfm must reach this connection before the Ind.
        c.MapRequest("order.place", request =>
        {
            request.Confirm("{\"placed\":true}"u8);
            IIndPublisher publisher = request.Connection.Services.GetRequiredService<IIndPublisher>();
            publisher.PublishAsync("orders.events", "{\"state\":\"placed\"}"u8.ToArray()).AsTask().GetAwaiter().GetResult();
            return default;
        });

        c.MapRequest("order.place.async", async request =>
        {
            await Task.Yield();
            request.Confirm("{\"placed\":true}"u8);
            await request.Connection.Services.GetRequiredService<IIndPublisher>().PublishAsync("orders.events", "{\"state\":\"placed\"}"u8.ToArray());
        });
    }

    [Fact]
    public async Task TypedHandlerReadsAndWritesThroughTheSourceGeneratedContext()
    {
        await using TestServer server = await TestServer.StartAsync(configure: MapTestOps);
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        JsonElement answer = await client.AnswerAsync("""{"type":"req","id":1,"op":"math.add","data":{"a":2,"b":40,"ignored":"x"}}""");
        Assert.Equal("cfm", answer.Type());
        Assert.Equal("""{"sum":42}""", answer.Raw("data")); // camelCase, null Note omitted: the context's options were used
    }

    [Fact]
    public async Task TypedHandlerThatCompletesAsynchronouslyIsAnswered()
    {
        await using TestServer server = await TestServer.StartAsync(configure: MapTestOps);
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        JsonElement answer = await client.AnswerAsync("""{"type":"req","id":2,"op":"math.add.async","data":{"a":1,"b":1}}""");
        Assert.Equal(2, answer.GetProperty("data").GetProperty("sum").GetInt32());
        Assert.Equal(client.Session.GetProperty("data").GetProperty("id").GetString(), answer.GetProperty("data").GetProperty("note").GetString());
    }

    [Theory]
    [InlineData("""{"a":"two","b":1}""")]
    [InlineData("""[2,1]""")]
    [InlineData("\"text\"")]
    public async Task TypedHandlerRejectsDataOfTheWrongShapeWithInvalidArgument(string data)
    {
        await using TestServer server = await TestServer.StartAsync(configure: MapTestOps);
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        JsonElement answer = await client.AnswerAsync($$"""{"type":"req","id":3,"op":"math.add","data":{{data}}}""");
        answer.AssertRej("invalid_argument", "3");
    }

    [Fact]
    public async Task RawHandlerSeesTheOpRawIdAndRawData()
    {
        await using TestServer server = await TestServer.StartAsync(configure: MapTestOps);
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        JsonElement answer = await client.AnswerAsync("""{"type":"req","id":"r\u0031","op":"raw.inspect","data":{ "k" : [1, 2.50] }}""");
        string[] seen = answer.GetProperty("data").Deserialize<string[]>()!;
        Assert.Equal(["raw.inspect", "\"r\\u0031\"", """{ "k" : [1, 2.50] }""", "has"], seen);

        answer = await client.AnswerAsync("""{"type":"req","id":2,"op":"raw.inspect"}""");
        seen = answer.GetProperty("data").Deserialize<string[]>()!;
        Assert.Equal(["raw.inspect", "2", "null", "none"], seen);
    }

    [Theory]
    [InlineData("order.place")]
    [InlineData("order.place.async")]
    public async Task CfmPrecedesAnIndTheHandlerPublishedAfterCompleting(string op)
    {
        await using TestServer server = await TestServer.StartAsync(configure: MapTestOps);
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await client.SubscribeAsync("orders.events");

        for (int i = 0; i < 50; i++)
        {
            await client.SendAsync($$"""{"type":"req","id":{{i}},"op":"{{op}}"}""");
            JsonElement first = await client.ReceiveJsonAsync();
            Assert.True(first.Type() == "cfm" && first.Raw("id") == i.ToString(), $"round {i}: expected the cfm first, got {first.GetRawText()}");
            JsonElement second = await client.ReceiveJsonAsync();
            Assert.Equal("ind", second.Type());
            Assert.Equal("orders.events", second.Str("topic"));
        }
    }

    [Fact]
    public async Task ConcurrentHandlersOfOneConnectionMayCompleteInAnyOrder()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await client.SendAsync("""{"type":"req","id":"slow","op":"sleep","data":{"ms":300}}""");
        await client.SendAsync("""{"type":"req","id":"fast","op":"echo","data":1}""");

        // The id correlates answers, not the position on the wire: the later, quicker request is answered first.
        Assert.Equal("\"fast\"", (await client.ReceiveJsonAsync()).Raw("id"));
        Assert.Equal("\"slow\"", (await client.ReceiveJsonAsync()).Raw("id"));
    }

    [Fact]
    public async Task ATypedAnswerAndATypedIndAreWrittenWithTheTypeInfosEncoderAndWithoutIndentation()
    {
        // An application that chose relaxed escaping gets the characters it chose, as the serialiser writes them with
        // its options; options that also indent (shared with files or logs) do not spread a message over lines.
        JsonTypeInfo<AddResult> typeInfo = new MessagingTestJsonContext(Relaxed(indented: true)).AddResult;
        var value = new AddResult(3, "café <b> & 'x'");
        await using TestServer server = await TestServer.StartAsync(configure: c => c.MapRequest("typed.relaxed", request =>
        {
            request.Connection.SendIndAsync("typed.note", value, typeInfo).AsTask().GetAwaiter().GetResult();
            request.Confirm(value, typeInfo);
            return default;
        }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        await client.SendAsync("""{"type":"req","id":1,"op":"typed.relaxed"}""");
        string ind = await client.ReceiveAsync();
        string cfm = await client.ReceiveAsync();

        const string Data = """{"sum":3,"note":"café <b> & 'x'"}""";
        Assert.Equal(Data, JsonSerializer.Serialize(value, new MessagingTestJsonContext(Relaxed(indented: false)).AddResult));
        Assert.Equal($$"""{"type":"ind","topic":"typed.note","data":{{Data}}}""", ind);
        Assert.Equal($$"""{"type":"cfm","id":1,"data":{{Data}}}""", cfm);

        static JsonSerializerOptions Relaxed(bool indented) => new()
        {
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            WriteIndented = indented,
        };
    }

    [Theory]
    [InlineData("nan")]
    [InlineData("nan.async")]
    public async Task ATypedAnswerThatCannotBeSerialisedIsRejectedInternalOnce(string op)
    {
        // JSON has no NaN: serialising the answer throws inside Confirm, which must not count as the answer.
        await using TestServer server = await TestServer.StartAsync(configure: c => c
            .MapRequest("nan", request =>
            {
                request.Confirm(double.NaN, MessagingTestJsonContext.Default.Double);
                return default;
            })
            .MapRequest("nan.async", async request =>
            {
                await Task.Yield();
                request.Confirm(double.NaN, MessagingTestJsonContext.Default.Double);
            }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        JsonElement answer = await client.AnswerAsync($$"""{"type":"req","id":1,"op":"{{op}}"}""");
        answer.AssertRej("internal", "1");

        JsonElement after = await client.AnswerAsync("""{"type":"req","id":2,"op":"echo","data":"still usable"}""");
        Assert.Equal("\"still usable\"", after.Raw("data"));
        await client.AssertNothingElseArrivesAsync();
    }
}
