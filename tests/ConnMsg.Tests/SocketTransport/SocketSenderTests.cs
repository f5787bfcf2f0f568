using System.Net;
using System.Net.Sockets;
using ConnMsg.Transport;

namespace ConnMsg.Tests.SocketTransport;

/// <summary>The pooled send operation: it delivers every byte, and keeps no reference to a buffer once returned.</summary>
public sealed class SocketSenderTests
{
    [Fact]
    public async Task ASendDeliversEveryByteAndTheReturnedSenderForgetsTheBuffer()
    {
        (Socket client, Socket server) = await ConnectedPairAsync();
        using Socket c = client, s = server;

        byte[] data = new byte[100_000];
        Random.Shared.NextBytes(data);
        SocketSender sender = SocketSender.Rent();
        int sent = await sender.SendAsync(server, data);
        Assert.Equal(data.Length, sent);
        // A buffer still referenced here would keep a pooled array alive after its pool let go of it.
        Assert.False(sender.MemoryBuffer.IsEmpty);
        sender.Return();
        Assert.True(sender.MemoryBuffer.IsEmpty);

        var received = new byte[data.Length];
        int total = 0;
        while (total < received.Length)
        {
            int n = await client.ReceiveAsync(received.AsMemory(total)).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.NotEqual(0, n);
            total += n;
        }

        Assert.Equal(data, received);
    }

    [Fact]
    public async Task ASendOnAClosedSocketFailsWithTheSocketError()
    {
        (Socket client, Socket server) = await ConnectedPairAsync();
        using Socket c = client, s = server;
        server.Shutdown(SocketShutdown.Send);

        SocketSender sender = SocketSender.Rent();
        var error = await Assert.ThrowsAsync<SocketException>(async () => await sender.SendAsync(server, new byte[10]));
        Assert.Equal(SocketError.Shutdown, error.SocketErrorCode);
        sender.Return();
    }

    private static async Task<(Socket Client, Socket Server)> ConnectedPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!);
        return (client, await listener.AcceptAsync());
    }
}
