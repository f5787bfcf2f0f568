using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace ConnMsg.Transport;

/// <summary>
/// One send on a socket, awaitable without allocating, and pooled across connections: a connection holds one only while
/// a send is in progress.
/// </summary>
/// <remarks>
/// <see cref="Socket.SendAsync(ReadOnlyMemory{byte}, SocketFlags, CancellationToken)"/> would cache an event-args object
/// on every socket and keep a reference to the last buffer sent, which holds a pooled array alive after the pool has
/// dropped it. Pooling these and clearing the buffer on return avoids both.
/// </remarks>
internal sealed class SocketSender : SocketAsyncEventArgs, IValueTaskSource<int>
{
    private const int MaxPooled = 1024;
    private static readonly ConcurrentQueue<SocketSender> Pool = new();
    private static int s_pooled;

    private ManualResetValueTaskSourceCore<int> _core;

    private SocketSender()
        : base(unsafeSuppressExecutionContextFlow: true)
    {
    }

    public static SocketSender Rent()
    {
        if (Pool.TryDequeue(out SocketSender? sender))
        {
            Interlocked.Decrement(ref s_pooled);
            return sender;
        }

        return new SocketSender();
    }

    /// <summary>Clears the buffer and goes back to the pool. Call once the send's result has been observed.</summary>
    public void Return()
    {
        SetBuffer(null, 0, 0);
        if (Interlocked.Increment(ref s_pooled) <= MaxPooled)
        {
            Pool.Enqueue(this);
        }
        else
        {
            Interlocked.Decrement(ref s_pooled);
            Dispose();
        }
    }

    /// <summary>Sends every byte of <paramref name="buffer"/>; completes synchronously when the kernel takes them at once.</summary>
    public ValueTask<int> SendAsync(Socket socket, ReadOnlyMemory<byte> buffer)
    {
        SetBuffer(MemoryMarshal.AsMemory(buffer));
        _core.Reset();
        if (socket.SendAsync(this))
        {
            return new ValueTask<int>(this, _core.Version);
        }

        return SocketError == SocketError.Success
            ? new ValueTask<int>(BytesTransferred)
            : ValueTask.FromException<int>(new SocketException((int)SocketError));
    }

    int IValueTaskSource<int>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);

    protected override void OnCompleted(SocketAsyncEventArgs e)
    {
        if (SocketError == SocketError.Success)
        {
            _core.SetResult(BytesTransferred);
        }
        else
        {
            _core.SetException(new SocketException((int)SocketError));
        }
    }
}
