using System.Text.Json;
using ConnMsg.Messaging;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;

namespace ConnMsg.Tests.Messaging;

/// <summary>
/// JSON that application code hands over as raw bytes (<see cref="ConnMsgRequest.Confirm(ReadOnlySpan{byte})"/>,
/// <see cref="ConnMsgConnection.SendIndAsync(string, ReadOnlyMemory{byte}, CancellationToken)"/>,
/// <see cref="IIndPublisher.PublishAsync(string, ReadOnlyMemory{byte}, CancellationToken)"/>,
/// <see cref="ConnMsgConnection.RequestAsync(string, ReadOnlyMemory{byte}, CancellationToken)"/>) goes on the wire only
/// when it is one JSON value (PROTOCOL.md §3). Anything else is refused to the application with an
/// <see cref="ArgumentException"/>, and the connection goes on.
/// </summary>
public sealed class ApplicationJsonTests(ApplicationJsonTests.Fixture fixture) : IClassFixture<ApplicationJsonTests.Fixture>, IAsyncLifetime
{
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
            .MapRequest("app.confirm.last3", request => HandOver(request, r => r.Confirm(r.Data.Span[^3..]))));

        public async Task DisposeAsync() => await Server.DisposeAsync();

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
