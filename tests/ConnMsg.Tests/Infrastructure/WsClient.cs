using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace ConnMsg.Tests.Infrastructure;

/// <summary>
/// A thin test client over the BCL's <see cref="ClientWebSocket"/> (a client nobody on this team wrote):
/// send text, receive the next text message with a deadline, and read the close status.
/// </summary>
public sealed class WsClient : IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);
    private readonly SemaphoreSlim _sendLock = new(1, 1);

    private WsClient(ClientWebSocket socket) => Socket = socket;

    public ClientWebSocket Socket { get; }

    public JsonElement Session { get; private set; }

    public static async Task<WsClient> ConnectAsync(Uri uri, string? subProtocol = "connmsg.v1", bool readSession = true)
    {
        var socket = new ClientWebSocket();
        if (subProtocol is not null)
        {
            socket.Options.AddSubProtocol(subProtocol);
        }

        using var cts = new CancellationTokenSource(DefaultTimeout);
        await socket.ConnectAsync(uri, cts.Token);
        var client = new WsClient(socket);
        if (readSession)
        {
            client.Session = await client.ReceiveJsonAsync();
        }

        return client;
    }

    public async Task SendAsync(string text)
    {
        await _sendLock.WaitAsync();
        try
        {
            using var cts = new CancellationTokenSource(DefaultTimeout);
            await Socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, cts.Token);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>The next text message; throws on close or after the timeout.</summary>
    public async Task<string> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            WebSocketReceiveResult result = await Socket.ReceiveAsync(buffer, cts.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new WebSocketException($"closed by server with {(int?)result.CloseStatus} {result.CloseStatusDescription}");
            }

            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return Encoding.UTF8.GetString(message.ToArray());
            }
        }
    }

    public async Task<JsonElement> ReceiveJsonAsync(TimeSpan? timeout = null) => Json.Parse(await ReceiveAsync(timeout));

    /// <summary>Sends a request and returns its answer, skipping Inds in between.</summary>
    public async Task<JsonElement> RequestAsync(string request)
    {
        await SendAsync(request);
        while (true)
        {
            JsonElement m = await ReceiveJsonAsync();
            if (m.Type() != "ind")
            {
                return m;
            }
        }
    }

    /// <summary>Reads until the server's close frame arrives; returns its status code.</summary>
    public async Task<int?> ReceiveCloseAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var buffer = new byte[64 * 1024];
        while (true)
        {
            WebSocketReceiveResult result = await Socket.ReceiveAsync(buffer, cts.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (int?)result.CloseStatus;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Socket.State == WebSocketState.Open)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token);
            }
            catch (Exception)
            {
                // Best effort: the test is over.
            }
        }

        Socket.Dispose();
    }
}
