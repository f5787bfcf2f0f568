using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace ConnMsg.Transport;

/// <summary>
/// The write side of a <see cref="SocketConnection"/>: a <see cref="PipeWriter"/> that buffers into one contiguous pooled
/// array and sends it from <see cref="FlushAsync"/> on the caller's thread, with no <see cref="Pipe"/> and no send loop.
/// </summary>
/// <remarks>
/// A flush usually completes synchronously (the kernel takes the bytes); it stays pending only while the peer's window is
/// full, which is the backpressure the caller awaits. The buffer goes back to the pool after every flush, so a
/// connection with nothing to send holds none. One writer at a time, and nothing written while a flush is pending, as
/// for any <see cref="PipeWriter"/>; <see cref="Complete"/> may come from another thread while a flush is pending.
/// </remarks>
internal sealed class SocketOutput : PipeWriter
{
    private const int MinimumBufferSize = 4096;

    private readonly SocketConnection _connection;
    private readonly Socket _socket;

    private const int FlushPending = 1;
    private const int Completed = 2;

    private byte[]? _buffer;
    private int _written;
    // FlushPending and Completed in one word: a Complete racing the end of a pending flush is finished by exactly one of
    // them, and with the error Complete was given.
    private int _flags;
    private Exception? _completionError;
    private bool _failed;
    private int _cancelRequested;

    public SocketOutput(SocketConnection connection, Socket socket)
    {
        _connection = connection;
        _socket = socket;
    }

    /// <summary>Whether a buffer is held: false once everything written was flushed (for tests).</summary>
    internal bool HoldsBuffer => _buffer is not null;

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _written;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        EnsureCapacity(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        EnsureCapacity(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public override void Advance(int bytes)
    {
        if ((uint)bytes > (uint)(_buffer?.Length - _written ?? 0))
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), "Advanced past the memory returned by GetMemory.");
        }

        _written += bytes;
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if ((Volatile.Read(ref _flags) & FlushPending) != 0)
        {
            throw new InvalidOperationException("A flush is already pending.");
        }

        if (Interlocked.Exchange(ref _cancelRequested, 0) != 0)
        {
            return new ValueTask<FlushResult>(new FlushResult(isCanceled: true, isCompleted: false));
        }

        if (_failed)
        {
            // The socket is gone: what was written cannot be sent, like a pipe whose reader completed.
            ReturnBuffer();
            return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true));
        }

        if (_written == 0)
        {
            return default;
        }

        cancellationToken.ThrowIfCancellationRequested();
        SocketSender sender = SocketSender.Rent();
        ValueTask<int> send;
        try
        {
            send = sender.SendAsync(_socket, _buffer.AsMemory(0, _written));
        }
        catch (Exception ex)
        {
            sender.Return();
            return new ValueTask<FlushResult>(Fail(ex));
        }

        if (send.IsCompleted)
        {
            // Stream sockets complete a send only when every byte is taken.
            try
            {
                send.GetAwaiter().GetResult();
            }
            catch (Exception ex)
            {
                return new ValueTask<FlushResult>(Fail(ex));
            }
            finally
            {
                sender.Return();
            }

            ReturnBuffer();
            return default;
        }

        Interlocked.Or(ref _flags, FlushPending);
        return AwaitSendAsync(send, sender);
    }

    public override void CancelPendingFlush()
    {
        // A send in progress is not interrupted (the socket would be left mid-frame); the next flush reports canceled.
        Interlocked.Exchange(ref _cancelRequested, 1);
    }

    public override void Complete(Exception? exception = null)
    {
        if ((Volatile.Read(ref _flags) & Completed) != 0)
        {
            return;
        }

        _completionError = exception;
        if ((Interlocked.Or(ref _flags, Completed) & FlushPending) == 0)
        {
            ReturnBuffer();
            _connection.OnOutputCompleted(exception);
        }
    }

    /// <summary>Returns the buffer once the connection is disposed, unless a send still uses it.</summary>
    internal void ReleaseBuffer()
    {
        if ((Volatile.Read(ref _flags) & FlushPending) == 0)
        {
            ReturnBuffer();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<FlushResult> AwaitSendAsync(ValueTask<int> send, SocketSender sender)
    {
        FlushResult result;
        int flags;
        try
        {
            await send.ConfigureAwait(false);
            ReturnBuffer();
            result = default;
        }
        catch (Exception ex)
        {
            result = Fail(ex);
        }
        finally
        {
            sender.Return();
            flags = Interlocked.And(ref _flags, ~FlushPending);
        }

        if ((flags & Completed) != 0)
        {
            // Complete came while the send was under way and left the ending to it.
            ReturnBuffer();
            _connection.OnOutputCompleted(_completionError);
        }

        return result;
    }

    private FlushResult Fail(Exception ex)
    {
        _failed = true;
        ReturnBuffer();
        // Kestrel's pipes report a failed send as a completed reader, not an exception; the read side sees the error.
        _connection.OnSendFailed(ex);
        return new FlushResult(isCanceled: false, isCompleted: true);
    }

    private void EnsureCapacity(int sizeHint)
    {
        int flags = Volatile.Read(ref _flags);
        if ((flags & FlushPending) != 0)
        {
            throw new InvalidOperationException("Writing is not allowed while a flush is pending.");
        }

        if ((flags & Completed) != 0)
        {
            throw new InvalidOperationException("Writing is not allowed after the writer was completed.");
        }

        int needed = Math.Max(sizeHint, 1);
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(needed, MinimumBufferSize));
        }
        else if (_buffer.Length - _written < needed)
        {
            byte[] larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Max((long)_buffer.Length * 2, (long)_written + needed), Array.MaxLength));
            _buffer.AsSpan(0, _written).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
    }

    private void ReturnBuffer()
    {
        _written = 0;
        if (_buffer is byte[] buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
