using System.Text.Json;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;

namespace ConnMsg.Tests.Messaging;

/// <summary>PROTOCOL.md §3 <c>id</c>: an integer 0 … 2^53−1 or a string of 1 … 64 characters, echoed verbatim.</summary>
public sealed class IdTests(DemoServerFixture fixture) : IClassFixture<DemoServerFixture>, IAsyncLifetime
{
    private WsClient _client = null!;

    public async Task InitializeAsync() => _client = await WsClient.ConnectAsync(fixture.Server.WebSocketUri);

    public async Task DisposeAsync() => await _client.DisposeAsync();

    [Theory]
    [InlineData("0")]
    [InlineData("7")]
    [InlineData("9007199254740991")] // 2^53-1
    [InlineData("\"abc\"")]
    [InlineData("\"a\"")]
    [InlineData("\"0123456789012345678901234567890123456789012345678901234567890123\"")] // 64 characters
    [InlineData("\"éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé\"")] // 64 characters, 128 bytes
    public async Task IdIsEchoedVerbatim(string id)
    {
        string answer = await RoundTripAsync(id);
        Assert.StartsWith($$"""{"type":"cfm","id":{{id}},""", answer);
    }

    [Theory]
    [InlineData("\"a\\\"b\\\\c\"")]                 // quote and backslash
    [InlineData("\"\\u0041\\u00e9\\n\\t\\/\"")]    // \u escapes, control escapes and an escaped solidus
    [InlineData("\"\\uD83D\\uDE00 x\"")]           // a surrogate pair spelled as escapes
    [InlineData("\"\\u00E9\\u00e9\"")]             // the same character with upper and lower hex digits
    public async Task IdIsEchoedVerbatimForEscapedStrings(string id)
    {
        string answer = await RoundTripAsync(id);

        // Byte for byte: not re-escaped, not unescaped, not normalised.
        Assert.StartsWith($$"""{"type":"cfm","id":{{id}},""", answer);
        Assert.Equal(id, Json.Parse(answer).Raw("id"));
    }

    [Fact]
    public async Task IdIsEchoedVerbatimInRejects()
    {
        const string id = "\"r\\u00e9j\"";
        JsonElement answer = await _client.AnswerAsync($$"""{"type":"req","id":{{id}},"op":"no.such.op"}""");
        answer.AssertRej("unknown_op", id);
    }

    [Theory]
    [InlineData("9007199254740992")] // 2^53
    [InlineData("18446744073709551616")] // beyond 64 bits
    [InlineData("-1")]
    [InlineData("-0")]
    [InlineData("1.5")]
    [InlineData("1.0")]
    [InlineData("1e2")]
    [InlineData("true")]
    [InlineData("null")]
    [InlineData("{}")]
    [InlineData("[1]")]
    [InlineData("\"\"")] // empty string
    [InlineData("\"01234567890123456789012345678901234567890123456789012345678901234\"")] // 65 characters
    [InlineData("\"ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé\"")] // 65 characters
    public async Task IdOutOfRangeIsBadMessageWithNullId(string id)
    {
        JsonElement answer = await _client.AnswerAsync($$"""{"type":"req","id":{{id}},"op":"echo","data":1}""");
        answer.AssertRej("bad_message", "null");

        // A malformed message does not close the connection (§4).
        await _client.AssertNothingElseArrivesAsync();
    }

    // PROTOCOL.md §3 counts an id's characters, as JSON does (RFC 8259 §7): code points. U+1F600 is one character, two
    // UTF-16 units and four UTF-8 bytes, so a bound counted in units or bytes refuses an id the protocol allows.
    public static TheoryData<string> IdsOfSupplementaryCharactersAtTheLimit => new()
    {
        Quoted(string.Concat(Enumerable.Repeat("\U0001F600", 64))), // 64 characters, 128 UTF-16 units, 256 bytes
        Quoted(string.Concat(Enumerable.Repeat("\\uD83D\\uDE00", 64))), // the same, spelled as escapes
        Quoted("a" + string.Concat(Enumerable.Repeat("\U0001F600", 63))), // mixed widths
    };

    public static TheoryData<string> IdsOfSupplementaryCharactersOverTheLimit => new()
    {
        Quoted(string.Concat(Enumerable.Repeat("\U0001F600", 65))),
        Quoted(string.Concat(Enumerable.Repeat("\\uD83D\\uDE00", 65))),
        Quoted("a" + string.Concat(Enumerable.Repeat("\U0001F600", 64))),
    };

    [Theory]
    [MemberData(nameof(IdsOfSupplementaryCharactersAtTheLimit))]
    public async Task IdOf64CharactersIsEchoedVerbatimWhateverTheirWidth(string id)
    {
        string answer = await RoundTripAsync(id);
        Assert.StartsWith($$"""{"type":"cfm","id":{{id}},""", answer);
    }

    [Theory]
    [MemberData(nameof(IdsOfSupplementaryCharactersOverTheLimit))]
    public async Task IdOf65CharactersIsBadMessageWhateverTheirWidth(string id)
    {
        JsonElement answer = await _client.AnswerAsync($$"""{"type":"req","id":{{id}},"op":"echo","data":1}""");
        answer.AssertRej("bad_message", "null");
    }

    [Fact]
    public async Task NumberAndStringIdsAreAnsweredIndependentlyWhileInFlight()
    {
        // 5 and "5" are different JSON tokens, so they are different ids: neither is a duplicate of the other.
        await _client.SendAsync("""{"type":"req","id":5,"op":"sleep","data":{"ms":200}}""");
        await _client.SendAsync("""{"type":"req","id":"5","op":"sleep","data":{"ms":200}}""");
        var ids = new List<string>();
        for (int i = 0; i < 2; i++)
        {
            JsonElement m = await _client.ReceiveJsonAsync();
            Assert.Equal("cfm", m.Type());
            ids.Add(m.Raw("id"));
        }

        Assert.Equal(["\"5\"", "5"], ids.Order(StringComparer.Ordinal));
    }

    private static string Quoted(string text) => $"\"{text}\"";

    private async Task<string> RoundTripAsync(string id)
    {
        await _client.SendAsync($$"""{"type":"req","id":{{id}},"op":"echo","data":"x"}""");
        return await _client.ReceiveAsync();
    }
}
