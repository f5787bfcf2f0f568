using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;

namespace ConnMsg.Tests.Messaging;

/// <summary>PROTOCOL.md §3 envelope and §4 <c>bad_message</c>: what the server accepts, and what it refuses without closing.</summary>
public sealed class EnvelopeTests(DemoServerFixture fixture) : IClassFixture<DemoServerFixture>, IAsyncLifetime
{
    private WsClient _client = null!;

    public async Task InitializeAsync() => _client = await WsClient.ConnectAsync(fixture.Server.WebSocketUri);

    public async Task DisposeAsync() => await _client.DisposeAsync();

    [Theory]
    [InlineData("""{"type":"req","id":1,"op":"echo","data":{"v":[1,2]}}""")]
    [InlineData("""{"data":{"v":[1,2]},"op":"echo","id":1,"type":"req"}""")]
    [InlineData("""{"id":1,"data":{"v":[1,2]},"type":"req","op":"echo"}""")]
    [InlineData("""{ "op" : "echo" , "type" : "req" , "id" : 1 , "data" : {"v":[1,2]} }""")]
    public async Task MembersMayComeInAnyOrder(string request)
    {
        JsonElement answer = await _client.AnswerAsync(request);
        Assert.Equal("cfm", answer.Type());
        Assert.Equal("1", answer.Raw("id"));
        Assert.Equal("""{"v":[1,2]}""", answer.Raw("data"));
    }

    [Theory]
    [InlineData("""{"type":"req","future":true,"id":2,"op":"echo","data":"d"}""")]
    [InlineData("""{"x":{"nested":[{"deep":{"type":"rej"}}]},"type":"req","id":2,"op":"echo","data":"d","y":null}""")]
    [InlineData("""{"type":"req","id":2,"op":"echo","data":"d","topic":"ignored.in.a.req","seq":4,"reason":"r"}""")]
    public async Task UnknownMembersAreIgnored(string request)
    {
        JsonElement answer = await _client.AnswerAsync(request);
        Assert.Equal("cfm", answer.Type());
        Assert.Equal("2", answer.Raw("id"));
        Assert.Equal("\"d\"", answer.Raw("data"));
    }

    [Fact]
    public async Task AbsentDataMeansNull()
    {
        JsonElement answer = await _client.AnswerAsync("""{"type":"req","id":3,"op":"echo"}""");
        Assert.Equal("cfm", answer.Type());
        Assert.True(!answer.TryGetProperty("data", out JsonElement data) || data.ValueKind == JsonValueKind.Null);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{")]
    [InlineData("")]
    [InlineData("42")]
    [InlineData("\"req\"")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("""[{"type":"req","id":1,"op":"echo"}]""")]
    [InlineData("""{"type":"req","op":"echo"}""")] // no id
    [InlineData("""{"type":"req","id":{},"op":"echo"}""")]
    [InlineData("""{"type":"req","id":11,"id":{"id":99},"op":"echo"}""")] // two ids: neither is echoed, least of all one nested in the second
    [InlineData("""{"type":"ind","id":11,"topic":7}""")]                   // an ind has no id of its own to echo
    public async Task UnreadableMessageIsBadMessageWithNullIdAndConnectionStaysOpen(string message)
    {
        await _client.SendAsync(message);
        JsonElement answer = await _client.ReceiveJsonAsync();
        answer.AssertRej("bad_message", "null");
        await _client.AssertNothingElseArrivesAsync();
    }

    [Theory]
    [InlineData("""{"id":11,"op":"echo"}""")]                          // no type
    [InlineData("""{"type":"nope","id":11,"op":"echo"}""")]            // unknown type
    [InlineData("""{"type":7,"id":11,"op":"echo"}""")]                 // type not a string
    [InlineData("""{"type":{"id":99},"id":11,"op":"echo"}""")]         // type an object: its members are not the envelope's
    [InlineData("""{"type":["req",{"id":99}],"id":11,"op":"echo"}""")]
    [InlineData("""{"type":"req","id":11}""")]                         // no op
    [InlineData("""{"type":"req","id":11,"op":""}""")]                 // empty op
    [InlineData("""{"type":"req","id":11,"op":"has space"}""")]        // bad op characters
    [InlineData("""{"type":"req","id":11,"op":"é"}""")]
    [InlineData("""{"type":"req","id":11,"op":"a*b"}""")]
    [InlineData("""{"type":"req","id":11,"op":"a\u0000b"}""")]
    [InlineData("""{"type":"req","id":11,"op":"$"}""")]
    [InlineData("""{"type":"req","id":11,"op":3}""")]
    [InlineData("""{"type":"req","id":11,"op":"echo","data":1} trailing""")]
    [InlineData("""{"type":"req","id":11,"op":"echo","data":[1,""")]      // truncated after the id
    [InlineData("""{"type":"req","id":11,"op":"echo","data":1}{"type":"req","id":12,"op":"echo"}""")]
    public async Task MessageBreakingTheEnvelopeIsBadMessageEchoingTheIdItCouldRead(string message)
    {
        await _client.SendAsync(message);
        JsonElement answer = await _client.ReceiveJsonAsync();
        answer.AssertRej("bad_message", "11");
        await _client.AssertNothingElseArrivesAsync();
    }

    [Fact]
    public async Task OpOf128BytesIsAcceptedAnd129IsBadMessage()
    {
        string op128 = new('o', 128);
        JsonElement answer = await _client.AnswerAsync($$"""{"type":"req","id":1,"op":"{{op128}}"}""");
        answer.AssertRej("unknown_op", "1"); // a valid op nobody handles

        answer = await _client.AnswerAsync($$"""{"type":"req","id":2,"op":"{{op128}}o"}""");
        answer.AssertRej("bad_message", "2");
        await _client.AssertNothingElseArrivesAsync();
    }

    [Theory]
    [InlineData("""{"type":"req","id":1,"op":"ech\u006f","data":"x"}""", "cfm")]                // the value counts, not its spelling
    [InlineData("""{"type":"req","id":1,"op":"no\/such"}""", "unknown_op")]                     // "\/" as PHP writes a slash
    [InlineData("""{"type":"req","id":1,"op":"a\u0020b"}""", "bad_message")]                    // a space, however written
    [InlineData("""{"type":"req","id":1,"op":"echo","data":"x","topic":"a\/b"}""", "cfm")]     // an escaped member a req ignores
    public async Task AnEscapedOpIsReadAsItsValue(string request, string outcome)
    {
        JsonElement answer = await _client.AnswerAsync(request);
        Assert.Equal("1", answer.Raw("id"));
        Assert.Equal(outcome, answer.Type() == "cfm" ? "cfm" : answer.Str("code"));
    }

    [Fact]
    public async Task OpAcceptsEveryAllowedCharacter()
    {
        JsonElement answer = await _client.AnswerAsync("""{"type":"req","id":1,"op":"AZaz09._-:/"}""");
        answer.AssertRej("unknown_op", "1");
    }

    [Fact]
    public async Task IndWithoutTopicIsBadMessage()
    {
        await _client.SendAsync("""{"type":"ind","data":1}""");
        JsonElement answer = await _client.ReceiveJsonAsync();
        answer.AssertRej("bad_message", "null");
    }

    [Fact]
    public async Task ManyBadMessagesInARowLeaveTheConnectionUsable()
    {
        for (int i = 0; i < 50; i++)
        {
            await _client.SendAsync(i % 2 == 0 ? "{nope" : "[1,2,3]");
        }

        for (int i = 0; i < 50; i++)
        {
            (await _client.ReceiveJsonAsync()).AssertRej("bad_message", "null");
        }

        JsonElement echo = await _client.AnswerAsync("""{"type":"req","id":"after","op":"echo","data":true}""");
        Assert.Equal("true", echo.Raw("data"));
    }

    [Fact]
    public async Task ServerWritesTypeFirst()
    {
        Assert.StartsWith("{\"type\":", _client.Session.GetRawText());
        string[] requests =
        [
            """{"data":1,"id":1,"op":"echo","type":"req"}""",
            """{"type":"req","id":2,"op":"fail","data":{"code":"not_found","reason":"r"}}""",
            """{"type":"req","id":3,"op":"no.such"}""",
            """{"type":"req","id":4,"op":"$ping"}""",
            "garbage",
        ];
        foreach (string request in requests)
        {
            await _client.SendAsync(request);
            Assert.StartsWith("{\"type\":", await _client.ReceiveAsync());
        }
    }

    [Fact]
    public async Task FragmentedRequestIsDispatched()
    {
        // One text message in four frames; the split falls inside a two-byte UTF-8 character.
        byte[] message = Encoding.UTF8.GetBytes("""{"type":"req","id":"frag","op":"echo","data":"héllo wörld"}""");
        int split = Array.IndexOf(message, (byte)0xC3) + 1;
        int[] cuts = [0, 10, split, split + 5, message.Length];
        for (int i = 0; i < cuts.Length - 1; i++)
        {
            bool last = i == cuts.Length - 2;
            await _client.Socket.SendAsync(message.AsMemory(cuts[i], cuts[i + 1] - cuts[i]), WebSocketMessageType.Text, last, CancellationToken.None);
        }

        JsonElement answer = await _client.ReceiveJsonAsync();
        Assert.Equal("cfm", answer.Type());
        Assert.Equal("\"frag\"", answer.Raw("id"));
        Assert.Equal("héllo wörld", answer.GetProperty("data").GetString());
    }
}
