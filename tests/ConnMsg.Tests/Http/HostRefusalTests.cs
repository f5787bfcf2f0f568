namespace ConnMsg.Tests.Http;

/// <summary>
/// RFC 9112 §3.2: a request without exactly one valid Host gets 400, whatever its path; and however it is answered, an
/// operator sees one refusal, under one reason (<c>bad_request</c>), on the upgrade path and off it.
/// </summary>
public sealed class HostRefusalTests
{
    public static TheoryData<string> WithoutOneValidHost() => new()
    {
        "GET /healthz HTTP/1.1\r\n\r\n",                         // no Host
        "GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",   // two
        "GET /nope HTTP/1.1\r\nHost: a b\r\n\r\n",               // an invalid one
        // The upgrade path refuses it in WebSocketHandshake.Validate; the plain path must count it alike.
        "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    };

    [Theory]
    [MemberData(nameof(WithoutOneValidHost))]
    public async Task ARequestWithoutExactlyOneValidHostIsCountedAndLoggedAsABadRequestRefusal(string request)
    {
        await using RefusalProbe probe = await RefusalProbe.StartAsync();

        RawHttpResponse r = await RawHttp.SendAsync(probe.Server.Port, request);
        Assert.Equal(400, r.Status);
        Assert.Equal("close", r.Header("Connection"));
        await probe.AssertOneRefusalAsync(400, "bad_request");
    }
}
