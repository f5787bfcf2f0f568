using System.Text;
using System.Text.Json;
using ConnMsg.Messaging;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;

namespace ConnMsg.Tests.Messaging;

/// <summary>
/// PROTOCOL.md §4 "a malformed message does not close the connection", for a JSON string that is valid JSON but no
/// Unicode text: a <c>\u</c> escape of a lone surrogate (RFC 8259 §8.2 allows it), which a browser's
/// <c>JSON.stringify</c> writes for a string holding half a surrogate pair. Where the protocol reads a string's value
/// (type, op, topic) such a value breaks its rule and gets that rule's code; where it keeps the token as it came (id,
/// data) or only shows it to people (reason), the message is served; a member name no member has is ignored (§3).
/// </summary>
public sealed class LoneSurrogateEscapeTests(DemoServerFixture fixture) : IClassFixture<DemoServerFixture>, IAsyncLifetime
{
    private WsClient _client = null!;

    public async Task InitializeAsync() => _client = await WsClient.ConnectAsync(fixture.Server.WebSocketUri);

    public async Task DisposeAsync() => await _client.DisposeAsync();

    [Theory]
    [InlineData("""\ud800""")]               // a high surrogate with nothing after it
    [InlineData("""\udc00""")]               // a low surrogate with nothing before it
    [InlineData("""ech\ud800o""")]
    [InlineData("""\ud800\u0041""")]         // a high surrogate followed by another escape that is no low one
    [InlineData("""\udc00\ud800""")]         // a pair in the wrong order
    [InlineData("""$\ud800""")]
    public async Task AnOpWithALoneSurrogateIsBadMessageEchoingTheId(string op)
    {
        JsonElement answer = await _client.AnswerAsync($$"""{"type":"req","id":11,"op":"{{op}}"}""");
        answer.AssertRej("bad_message", "11");
        await _client.AssertNothingElseArrivesAsync();
    }

    [Fact]
    public async Task ATypeWithALoneSurrogateIsBadMessageEchoingTheId()
    {
        JsonElement answer = await _client.AnswerAsync("""{"type":"req\ud800","id":11,"op":"echo"}""");
        answer.AssertRej("bad_message", "11");
        await _client.AssertNothingElseArrivesAsync();
    }

    [Fact]
    public async Task AMemberWhoseNameHasALoneSurrogateIsAnUnknownMemberAndIgnored()
    {
        JsonElement answer = await _client.AnswerAsync("""{"type":"req","\ud800":{"type":"rej"},"id":2,"op":"echo","data":"d"}""");
        Assert.Equal("cfm", answer.Type());
        Assert.Equal("2", answer.Raw("id"));
        Assert.Equal("\"d\"", answer.Raw("data"));
    }

    [Theory]
    [InlineData("\"\\ud800\"")]
    [InlineData("\"\\udc00\"")]
    [InlineData("\"x\\uDBFF\"")]
    [InlineData("\"\\ud800\\ud800\"")]
    [InlineData("\"\\udc00\\ud800\"")]
    [InlineData("\"\\uD83D\\uDE00\\ud800\"")] // a pair, then a lone one
    public async Task AnIdWithALoneSurrogateIsEchoedVerbatim(string id)
    {
        // The id is the requester's token, echoed as it came (§3): the requester reads it back as the string it sent.
        await _client.SendAsync($$"""{"type":"req","id":{{id}},"op":"echo","data":"x"}""");
        string answer = await _client.ReceiveAsync();
        Assert.StartsWith($$"""{"type":"cfm","id":{{id}},""", answer);
    }

    [Fact]
    public async Task AnIdOf64LoneSurrogatesIsEchoedAnd65IsBadMessage()
    {
        // A lone surrogate counts as one character: the one code point its escape names.
        string id64 = $"\"{string.Concat(Enumerable.Repeat("\\ud800", 64))}\"";
        await _client.SendAsync($$"""{"type":"req","id":{{id64}},"op":"echo","data":"x"}""");
        Assert.StartsWith($$"""{"type":"cfm","id":{{id64}},""", await _client.ReceiveAsync());

        string id65 = $"\"{string.Concat(Enumerable.Repeat("\\udc00", 65))}\"";
        JsonElement answer = await _client.AnswerAsync($$"""{"type":"req","id":{{id65}},"op":"echo","data":"x"}""");
        answer.AssertRej("bad_message", "null");
        await _client.AssertNothingElseArrivesAsync();
    }

    [Theory]
    [InlineData("""\ud800""")]
    [InlineData("""prices.\udc00""")]
    public async Task AnIndWhoseTopicHasALoneSurrogateIsBadMessageWithNullId(string topic)
    {
        await _client.SendAsync($$"""{"type":"ind","topic":"{{topic}}","data":1}""");
        (await _client.ReceiveJsonAsync()).AssertRej("bad_message", "null");
        await _client.AssertNothingElseArrivesAsync();
    }

    [Theory]
    [InlineData("$subscribe", """{"topic":"\ud800"}""")]
    [InlineData("$subscribe", """{"topic":"prices.\udc00","since":0}""")]
    [InlineData("$unsubscribe", """{"topic":"\ud800"}""")]
    public async Task SubscribingToATopicWithALoneSurrogateIsInvalidArgument(string op, string data)
    {
        JsonElement answer = await _client.AnswerAsync($$"""{"type":"req","id":1,"op":"{{op}}","data":{{data}}}""");
        answer.AssertRej("invalid_argument", "1");
        await _client.AssertNothingElseArrivesAsync();
    }

    [Fact]
    public async Task ASubscribeDataMemberWhoseNameHasALoneSurrogateIsIgnored()
    {
        JsonElement answer = await _client.AnswerAsync("""{"type":"req","id":1,"op":"$subscribe","data":{"\ud800":1,"topic":"lone.member"}}""");
        Assert.Equal("cfm", answer.Type());
        Assert.Equal(1, fixture.Server.Server.SubscriberCount("lone.member"));
    }

    [Theory]
    [InlineData("""{"topic":"\ud800","data":1}""")]
    [InlineData("""{"topic":"lone.\udc00","data":1}""")]
    public async Task PublishToATopicWithALoneSurrogateIsInvalidArgument(string data)
    {
        // Appendix A and §4: data that is not what the operation accepts is invalid_argument, not a failure of the server.
        JsonElement answer = await _client.AnswerAsync($$"""{"type":"req","id":1,"op":"publish","data":{{data}}}""");
        answer.AssertRej("invalid_argument", "1");
        await _client.AssertNothingElseArrivesAsync();
    }

    [Fact]
    public async Task APublishDataMemberWhoseNameHasALoneSurrogateIsIgnored()
    {
        JsonElement answer = await _client.AnswerAsync("""{"type":"req","id":1,"op":"publish","data":{"\ud800":1,"topic":"lone.publish","data":1}}""");
        Assert.Equal("cfm", answer.Type());
        Assert.Equal(0, answer.GetProperty("data").GetProperty("subscribers").GetInt32());
    }

    [Fact]
    public async Task AClientsRejWhoseReasonHasALoneSurrogateStillAnswersTheServersReq()
    {
        // The reason is text for people (§3): what cannot be text is shown as U+FFFD, and the rej still answers.
        await _client.SendAsync("""{"type":"req","id":7,"op":"demo.ask","data":{"op":"client.confirm"}}""");
        JsonElement req = await _client.ReceiveJsonAsync();
        Assert.Equal("req", req.Type());

        await _client.SendAsync($$"""{"type":"rej","id":{{req.Raw("id")}},"code":"forbidden","reason":"no \ud800 thanks"}""");
        JsonElement answer = await _client.ReceiveJsonAsync();
        answer.AssertRej("forbidden", "7");
        Assert.Equal("no \uFFFD thanks", answer.Str("reason"));
        await _client.AssertNothingElseArrivesAsync();
    }

    [Theory]
    [InlineData("""{"type":"r@eq","id":"i@","op":"e@cho","data":{"@":"@"},"@":1}""")]
    [InlineData("""{"type":"cfm","id":"i@","data":"@"}""")]
    [InlineData("""{"type":"re@j","id":1,"code":"n@o","reason":"@","@x":0}""")]
    [InlineData("""{"type":"ind","topic":"t@","data":["@"],"seq":1}""")]
    public void TheEnvelopeReaderAnswersALoneSurrogateInAnyStringAsAValue(string template)
    {
        // Each @ in turn holds a lone surrogate (the others nothing): the reader accepts or refuses, and never throws.
        string[] parts = template.Split('@');
        foreach (string lone in new[] { "\\ud800", "\\udc00", "\\udc00\\ud800", "\\ud800x", "\\uDBFF\\u0041" })
        {
            for (int at = 1; at < parts.Length; at++)
            {
                byte[] json = Encoding.UTF8.GetBytes(string.Concat(parts.Select((part, k) => k == at ? lone + part : part)));
                bool ok = EnvelopeReader.TryReadGeneral(json, out Envelope general, out string? error);
                Assert.True(ok == EnvelopeReader.TryRead(json, validUtf8: true, out Envelope envelope, out _), Encoding.UTF8.GetString(json));
                Assert.True(ok || error is not null, Encoding.UTF8.GetString(json));
                Assert.Equal(general, envelope);
            }
        }
    }
}
