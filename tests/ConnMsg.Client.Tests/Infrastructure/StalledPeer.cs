using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace ConnMsg.Client.Tests.Infrastructure;

/// <summary>
/// A connmsg.v1 peer on a plain loopback socket that, after the upgrade and its <c>$session</c>, reads nothing until
/// the test reads from <see cref="AcceptAsync"/>'s stream. Its receive buffer is small, so the client's writes
/// soon stop being taken by the kernel: real backpressure, not a simulated one.
/// </summary>
internal sealed class StalledPeer : IDisposable
{
    private const int SmallBuffer = 4 * 1024;

    private readonly TcpListener _listener;

    private StalledPeer(TcpListener listener)
    {
        _listener = listener;
        WebSocketUri = new Uri($"ws://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/ws");
    }

    public Uri WebSocketUri { get; }

    public static StalledPeer Start()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);

        // Before listening, so accepted sockets inherit it and the advertised window stays small.
        listener.Server.ReceiveBufferSize = SmallBuffer;
        listener.Server.SendBufferSize = SmallBuffer;
        listener.Start();
        return new StalledPeer(listener);
    }

    /// <summary>Accepts one client, completes the upgrade, sends <paramref name="session"/> and returns the stream unread.</summary>
    public async Task<(Socket Socket, NetworkStream Stream)> AcceptAsync(string session)
    {
        var socket = await _listener.AcceptSocketAsync();
        socket.ReceiveBufferSize = SmallBuffer;
        var stream = new NetworkStream(socket, ownsSocket: true);
        var request = new StringBuilder();
        byte[] one = new byte[1];
        while (!request.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            await stream.ReadExactlyAsync(one);
            request.Append((char)one[0]);
        }

        string key = request.ToString().Split("\r\n")
            .First(line => line.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase))["Sec-WebSocket-Key:".Length..].Trim();
        string accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            $"Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: connmsg.v1\r\n\r\n"));
        await stream.WriteAsync(RawWebSocketServer.Text(session));
        return (socket, stream);
    }

    public void Dispose() => _listener.Stop();
}
