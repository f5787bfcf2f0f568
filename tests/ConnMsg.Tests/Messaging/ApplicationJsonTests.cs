using System.Text.Json;
using ConnMsg.Messaging;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ConnMsg.Tests.Messaging;

/// <summary>
/// JSON that application code hands over as raw bytes (<see cref="ConnMsgRequest.Confirm(ReadOnlySpan{byte})"/>,
/// <see cref="ConnMsgConnection.SendIndAsync(string, ReadOnlyMemory{byte}, CancellationToken)"/>,
/// <see cref="IIndPublisher.PublishAsync(string, ReadOnlyMemory{byte}, CancellationToken)"/>,
/// <see cref="ConnMsgConnection.RequestAsync(string, ReadOnlyMemory{byte}, CancellationToken)"/>) goes on the wire only
/// when it is one JSON value (PROTOCOL.md §3) in UTF-8 (§2: the peer closes on a text message that is not, and one
/// published Ind would close every subscriber). Anything else is refused to the application with an
/// <see cref="ArgumentException"/>, and the connection goes on.
/// </summary>
public sealed class ApplicationJsonTests(ApplicationJsonTests.Fixture fixture) : IClassFixture<ApplicationJsonTests.Fixture>, IAsyncLifetime
{
    private const string PublishedTopic = "app.published";

    private WsClient _client = null!;

    public async Task InitializeAsync() => _client = await WsClient.ConnectAsync(fixture.Server.WebSocketUri);

    public async Task DisposeAsync() => await _client.DisposeAsync();

    [Theory]
    [InlineData("app.confirm.first3")] // {"a
    [InlineData("app.confirm.last3")]  // :1}
    public async Task ConfirmOfPartOfTheRequestsDataIsCheckedAsOneJsonValue(string op)
    {
        JsonElement answer = await _client.AnswerAsync($$$"""{"type":"req","id":1,"op":"{{{op}}}","data":{"a":1}}""");
        AssertRefused(answer, "json", op);
        await _client.AssertNothingElseArrivesAsync();
    }

    public static TheoryData<string, byte[]> JsonThatIsNotUtf8 => new()
    {
        { "a lead byte without its continuation", [0x22, 0xC3, 0x28, 0x22] },
        { "a continuation byte without a lead", [0x22, 0x80, 0x22] },
        { "an overlong encoding", [0x22, 0xC0, 0xAF, 0x22] },
        { "an encoded surrogate", [0x22, 0xED, 0xA0, 0x80, 0x22] },
        { "a code point past U+10FFFF", [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22] },
        { "a sequence cut short", [0x22, 0xE2, 0x82, 0x22] },
        { "a byte UTF-8 never uses", [0x22, 0xFF, 0x22] },
        { "in a member name", [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D] },
    };

    [Theory]
    [MemberData(nameof(JsonThatIsNotUtf8))]
    public async Task ConfirmRefusesJsonThatIsNotUtf8(string what, byte[] json)
    {
        AssertRefused(await _client.AnswerAsync(HandingOver("app.confirm", json)), "json", what);
        await _client.AssertNothingElseArrivesAsync();
    }

    [Theory]
    [MemberData(nameof(JsonThatIsNotUtf8))]
    public async Task SendIndRefusesJsonThatIsNotUtf8(string what, byte[] json)
    {
        AssertRefused(await _client.AnswerAsync(HandingOver("app.send.ind", json)), "data", what);
        await _client.AssertNothingElseArrivesAsync();
    }

    [Theory]
    [MemberData(nameof(JsonThatIsNotUtf8))]
    public async Task PublishRefusesJsonThatIsNotUtf8AndSubscribersStayConnected(string what, byte[] json)
    {
        await _client.SubscribeAsync(PublishedTopic);
        AssertRefused(await _client.AnswerAsync(HandingOver("app.publish", json)), "data", what);
        await _client.AssertNothingElseArrivesAsync(); // no Ind, and the subscriber is still connected
    }

    [Theory]
    [MemberData(nameof(JsonThatIsNotUtf8))]
    public async Task ServerRequestRefusesJsonThatIsNotUtf8(string what, byte[] json)
    {
        AssertRefused(await _client.AnswerAsync(HandingOver("app.request", json)), "data", what);
        await _client.AssertNothingElseArrivesAsync();
    }

    /// <summary>A request to <paramref name="op"/> that has it hand over <paramref name="json"/> (base64 in the data).</summary>
    private static string HandingOver(string op, byte[] json) =>
        $$"""{"type":"req","id":1,"op":"{{op}}","data":"{{Convert.ToBase64String(json)}}"}""";

    private static void AssertRefused(JsonElement answer, string parameter, string what)
    {
        Assert.True(answer.Type() == "rej" && answer.Str("code") == "refused", $"{what}: expected the bytes to be refused, got {answer.GetRawText()}");
        Assert.Equal(parameter, answer.Str("reason"));
    }

    /// <summary>
    /// A server whose ops hand ConnMsg JSON bytes through one API each, and answer <c>rej refused</c> with the
    /// parameter's name when ConnMsg refuses them with <see cref="ArgumentException"/>, <c>cfm</c> when it takes them.
    /// </summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public TestServer Server { get; private set; } = null!;

        public async Task InitializeAsync() => Server = await TestServer.StartAsync(configure: c => c
            .MapRequest("app.confirm.first3", request => HandOver(request, r => r.Confirm(r.Data.Span[..3])))
            .MapRequest("app.confirm.last3", request => HandOver(request, r => r.Confirm(r.Data.Span[^3..])))
            .MapRequest("app.confirm", request => HandOver(request, r => r.Confirm(Bytes(r))))
            .MapRequest("app.send.ind", request => HandOver(request, r => r.Connection.SendIndAsync("app.ind", Bytes(r)).AsTask().GetAwaiter().GetResult()))
            .MapRequest("app.publish", request => HandOver(request, r => r.Connection.Services.GetRequiredService<IIndPublisher>().PublishAsync(PublishedTopic, Bytes(r)).AsTask().GetAwaiter().GetResult()))
            .MapRequest("app.request", async request =>
            {
                try
                {
                    await request.Connection.RequestAsync("client.question", Bytes(request), request.Aborted);
                }
                catch (ArgumentException ex)
                {
                    request.Reject("refused", ex.ParamName);
                }
            }));

        public async Task DisposeAsync() => await Server.DisposeAsync();

        private static byte[] Bytes(ConnMsgRequest request) => request.ReadData(MessagingTestJsonContext.Default.ByteArray)!;

        private static ValueTask HandOver(ConnMsgRequest request, Action<ConnMsgRequest> handOver)
        {
            try
            {
                handOver(request);
            }
            catch (ArgumentException ex)
            {
                request.Reject("refused", ex.ParamName);
                return default;
            }

            request.Confirm(); // ignored when the op's own answer went first
            return default;
        }
    }
}
