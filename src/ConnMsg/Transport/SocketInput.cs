using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;
using Microsoft.AspNetCore.Connections;

namespace ConnMsg.Transport;

/// <summary>
/// The read side of a <see cref="SocketConnection"/>: a <see cref="PipeReader"/> that reads the socket itself, with no
/// <see cref="Pipe"/> and no receive loop behind it.
/// </summary>
/// <remarks>
/// <para>
/// Waiting is a zero-byte receive, so a connection with nothing to read holds no buffer; once the socket is readable the
/// bytes are taken with a non-blocking receive into one contiguous pooled buffer, returned to the pool whenever the
/// reader has consumed everything. The buffer grows (by copying) only for a message larger than it, up to
/// <see cref="ConnMsgTransportOptions.MaxReadBufferSize"/>.
/// </para>
/// <para>
/// A pending read completes on the thread that saw the socket become readable (the epoll thread when the runtime runs
/// socket completions inline), like Kestrel's socket transport with <c>UnsafePreferInlineScheduling</c>.
/// One reader at a time, as for any <see cref="PipeReader"/>; <see cref="CancelPendingRead"/> may come from any thread.
/// </para>
/// </remarks>
internal sealed class SocketInput : PipeReader, IValueTaskSource<ReadResult>
{
    private const int MinimumBufferSize = 4096;

    private readonly SocketConnection _connection;
    private readonly Socket _socket;
    private readonly int _maxBufferSize;
    private readonly Action _onReadable;

    private byte[]? _buffer;
    private int _start;
    private int _end;
    private int _examined;

    // The last receive filled the buffer: more is probably waiting, so the next read tries before it waits.
    private bool _lastReceiveFilled;
    private bool _eof;
    private Exception? _error;
    private bool _readerCompleted;

    private int _cancelRequested;
    // Who owns the buffer fields: the application between reads (Idle), nobody while a read waits (Pending), the one
    // thread completing that read (Working). A wait left over from a canceled read finds the read gone and leaves.
    private int _state;
    private int _waitInFlight;
    private ValueTask<int> _wait;
    // What a wait that completed with no read out saw fail (a reset): the zero-byte receive took the socket's error, so
    // no later receive can report it, and the next read does.
    private Exception? _waitError;
    private ManualResetValueTaskSourceCore<ReadResult> _core;
    private CancellationTokenRegistration _tokenRegistration;
    private CancellationToken _readToken;

    private const int Idle = 0;
    private const int Pending = 1;
    private const int Working = 2;

    public SocketInput(SocketConnection connection, Socket socket, int maxBufferSize)
    {
        _connection = connection;
        _socket = socket;
        _maxBufferSize = Math.Max(maxBufferSize, MinimumBufferSize);
        _onReadable = OnReadable;
    }

    /// <summary>Whether a buffer is held: false for a connection waiting with nothing unconsumed (for tests).</summary>
    internal bool HoldsBuffer => _buffer is not null;

    /// <summary>Whether a wait on the socket is out, possibly left over from a canceled read (for tests).</summary>
    internal bool WaitInFlight => Volatile.Read(ref _waitInFlight) != 0;

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (_readerCompleted)
        {
            ThrowReaderCompleted();
        }

        if (Volatile.Read(ref _state) != Idle)
        {
            ThrowConcurrentRead();
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (TryReadNow(out ReadResult result))
        {
            return new ValueTask<ReadResult>(result);
        }

        _core.Reset();
        short version = _core.Version;
        _readToken = cancellationToken;
        Volatile.Write(ref _state, Working);
        if (cancellationToken.CanBeCanceled)
        {
            _tokenRegistration = cancellationToken.UnsafeRegister(static s => ((SocketInput)s!).CancelWaiting(), this);
        }

        Pump();
        return new ValueTask<ReadResult>(this, version);
    }

    /// <summary>
    /// Puts a wait on the socket while no read is out, so that the peer ending or resetting the connection fires
    /// <see cref="SocketConnection.ConnectionClosed"/> even then. The next read takes the wait over, as it takes over one
    /// left over from a canceled read. Called on the reader's side, between reads.
    /// </summary>
    internal void WatchWhileIdle()
    {
        if (_readerCompleted || _eof || _error is not null || Volatile.Read(ref _state) != Idle || Volatile.Read(ref _waitInFlight) != 0)
        {
            return;
        }

        ValueTask<int> wait;
        try
        {
            wait = _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
        }
        catch (Exception ex)
        {
            Volatile.Write(ref _waitError, _connection.TranslateError(ex));
            _connection.OnReceiveEnded();
            return;
        }

        _wait = wait;
        Volatile.Write(ref _waitInFlight, 1);
        wait.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onReadable);
    }

    public override bool TryRead(out ReadResult result)
    {
        if (_readerCompleted)
        {
            ThrowReaderCompleted();
        }

        if (Volatile.Read(ref _state) != Idle)
        {
            ThrowConcurrentRead();
        }

        return TryReadNow(out result);
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_buffer is null)
        {
            // Nothing was returned since the last advance (an empty canceled or completed result).
            return;
        }

        int consumedIndex = IndexOf(consumed);
        int examinedIndex = IndexOf(examined);
        if (consumedIndex < _start || consumedIndex > _end || examinedIndex < consumedIndex || examinedIndex > _end)
        {
            throw new InvalidOperationException("The position is outside the data returned by the last read.");
        }

        _start = consumedIndex;
        _examined = Math.Max(examinedIndex, _examined);
        if (_start == _end)
        {
            // All consumed: give the buffer back so an idle connection holds none.
            ReturnBuffer();
        }
    }

    public override void CancelPendingRead()
    {
        Interlocked.Exchange(ref _cancelRequested, 1);
        CancelWaiting();
    }

    public override void Complete(Exception? exception = null)
    {
        if (_readerCompleted)
        {
            return;
        }

        _readerCompleted = true;
        if (Volatile.Read(ref _state) == Idle)
        {
            ReturnBuffer();
        }
    }

    /// <summary>Returns the buffer once the connection is disposed, unless a read was left pending.</summary>
    internal void ReleaseBuffer()
    {
        if (Volatile.Read(ref _state) == Idle)
        {
            ReturnBuffer();
        }
    }

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);

    private bool TryReadNow(out ReadResult result)
    {
        if (Interlocked.Exchange(ref _cancelRequested, 0) != 0)
        {
            result = new ReadResult(Current(), isCanceled: true, isCompleted: false);
            return true;
        }

        if (Volatile.Read(ref _waitError) is not null)
        {
            _error ??= Interlocked.Exchange(ref _waitError, null);
        }

        if (_examined < _end || _eof || _error is not null || _lastReceiveFilled && TryReceive())
        {
            result = Finish();
            return true;
        }

        result = default;
        return false;
    }

    // What a read reports once there is something to report. An error is thrown once what came before it is examined.
    private ReadResult Finish()
    {
        if (_error is not null && _examined >= _end)
        {
            Exception error = _error;
            _error = null;
            _eof = true;
            throw error;
        }

        return new ReadResult(Current(), isCanceled: false, isCompleted: _eof);
    }

    private ReadOnlySequence<byte> Current() => _buffer is null ? default : new ReadOnlySequence<byte>(_buffer, _start, _end - _start);

    // Drives the pending read until it completes or waits; the caller owns the state (Working).
    private void Pump()
    {
        while (true)
        {
            if (Volatile.Read(ref _cancelRequested) != 0 || _readToken.IsCancellationRequested)
            {
                CompleteOwned();
                return;
            }

            if (Volatile.Read(ref _waitInFlight) != 0)
            {
                // A wait left over from a canceled read is still out: its completion resumes this read. It may have
                // completed between the check above and the hand-over below, and found no read to resume.
                Interlocked.Exchange(ref _state, Pending);
                if (Volatile.Read(ref _waitInFlight) == 0 && Interlocked.CompareExchange(ref _state, Working, Pending) == Pending)
                {
                    continue;
                }

                CancelIfRequested();
                return;
            }

            ValueTask<int> wait;
            try
            {
                // A zero-byte receive: readiness without committing a buffer to an idle connection.
                wait = _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
            }
            catch (Exception ex)
            {
                _error ??= _connection.TranslateError(ex);
                CompleteOwned();
                return;
            }

            if (!wait.IsCompleted)
            {
                _wait = wait;
                Volatile.Write(ref _waitInFlight, 1);
                Interlocked.Exchange(ref _state, Pending);
                wait.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onReadable);
                CancelIfRequested();
                return;
            }

            if (CompleteIfReady(Observe(wait)))
            {
                return;
            }
        }
    }

    private void OnReadable()
    {
        ValueTask<int> wait = _wait;
        _wait = default;
        Exception? error = Observe(wait);
        if (error is not null)
        {
            // Kept before the wait is marked done, so that a read that starts meanwhile finds it (TryReceive).
            Volatile.Write(ref _waitError, error);
        }

        Interlocked.Exchange(ref _waitInFlight, 0);
        if (Interlocked.CompareExchange(ref _state, Working, Pending) != Pending)
        {
            // No read is out: the one this wait served was canceled, or it is the closed token's watch. Data, or the end
            // of the stream, the next read's own wait finds again at once; an error it could not, so the next read gets
            // the one kept above. An error or the end (readable with nothing to read) is the connection's end, and
            // ConnectionClosed says so now.
            if (error is not null || !HasBytesToRead())
            {
                _connection.OnReceiveEnded();
            }

            return;
        }

        if (!CompleteIfReady(Interlocked.Exchange(ref _waitError, null)))
        {
            Pump();
        }
    }

    // Completes the read once the socket was readable: with the wait's error, or with what a receive found. False
    // when the receive found nothing after all, and the read must wait again.
    private bool CompleteIfReady(Exception? waitError)
    {
        if (waitError is not null)
        {
            // The wait itself failed (a reset while idle, a keep-alive timeout): the connection is over, as when a
            // receive fails, and ConnectionClosed must say so now rather than when the connection is disposed.
            _error ??= waitError;
            _connection.OnReceiveEnded();
        }
        else if (!TryReceive())
        {
            return false;
        }

        CompleteOwned();
        return true;
    }

    private Exception? Observe(ValueTask<int> wait)
    {
        try
        {
            wait.GetAwaiter().GetResult();
            return null;
        }
        catch (Exception ex)
        {
            return _connection.TranslateError(ex);
        }
    }

    // A non-blocking receive into the buffer. True when there is something to report: bytes, end of stream or an error.
    private bool TryReceive()
    {
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(MinimumBufferSize);
            _start = _end = _examined = 0;
        }
        else if (_end == _buffer.Length && !MakeRoom())
        {
            _error ??= new IOException($"The peer sent more than {_maxBufferSize} bytes that the application did not consume.");
            return true;
        }

        int received;
        SocketError error;
        try
        {
            received = _socket.Receive(_buffer.AsSpan(_end), SocketFlags.None, out error);
        }
        catch (Exception ex)
        {
            _error ??= _connection.TranslateError(ex);
            return true;
        }

        if (error == SocketError.WouldBlock)
        {
            _lastReceiveFilled = false;
            if (_start == _end)
            {
                ReturnBuffer();
            }

            return false;
        }

        if (error != SocketError.Success)
        {
            _error ??= _connection.TranslateError(new SocketException((int)error));
            _connection.OnReceiveEnded();
            return true;
        }

        if (received == 0)
        {
            // A receive racing the abort's close can find the end of the stream: that end is the abort's, not the peer's.
            if (_connection.AbortReason is ConnectionAbortedException aborted)
            {
                _error ??= aborted;
            }
            else if (Interlocked.Exchange(ref _waitError, null) is Exception reset)
            {
                // A wait with no read out took the reset, and left the socket reading as ended.
                _error ??= reset;
            }
            else
            {
                _eof = true;
            }

            _lastReceiveFilled = false;
            _connection.OnReceiveEnded();
            return true;
        }

        _end += received;
        _lastReceiveFilled = _end == _buffer.Length;
        return true;
    }

    private bool HasBytesToRead()
    {
        try
        {
            return _socket.Available > 0;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    // Moves unconsumed bytes to the front, or grows the buffer; false at the size limit.
    private bool MakeRoom()
    {
        byte[] buffer = _buffer!;
        int length = _end - _start;
        if (_start > 0 && length < buffer.Length / 2)
        {
            buffer.AsSpan(_start, length).CopyTo(buffer);
        }
        else
        {
            if (buffer.Length >= _maxBufferSize)
            {
                return false;
            }

            byte[] larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, _maxBufferSize));
            buffer.AsSpan(_start, length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(buffer);
            _buffer = larger;
        }

        _examined -= _start;
        _end = length;
        _start = 0;
        return true;
    }

    // Completes the pending read from the Working state: the result, a cancellation, or the recorded error.
    private void CompleteOwned()
    {
        _tokenRegistration.Dispose();
        _tokenRegistration = default;
        ReadResult result = default;
        Exception? error = null;
        if (_readToken.IsCancellationRequested)
        {
            error = new OperationCanceledException(_readToken);
        }
        else if (Interlocked.Exchange(ref _cancelRequested, 0) != 0)
        {
            result = new ReadResult(Current(), isCanceled: true, isCompleted: false);
        }
        else
        {
            try
            {
                result = Finish();
            }
            catch (Exception ex)
            {
                error = ex;
            }
        }

        Volatile.Write(ref _state, Idle);
        _core.RunContinuationsAsynchronously = false;
        if (error is null)
        {
            _core.SetResult(result);
        }
        else
        {
            _core.SetException(error);
        }
    }

    // A pending read, if one is waiting, completes as canceled without touching the buffer (another thread may own it next).
    private void CancelWaiting()
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Pending) != Pending)
        {
            // Idle: the next read sees the flag. Working: the thread completing the read sees it.
            return;
        }

        _tokenRegistration.Dispose();
        _tokenRegistration = default;
        // Completions from another thread (a timer, a token) must not run the reader's code on that thread.
        _core.RunContinuationsAsynchronously = true;
        if (_readToken.IsCancellationRequested)
        {
            _core.SetException(new OperationCanceledException(_readToken));
        }
        else
        {
            Interlocked.Exchange(ref _cancelRequested, 0);
            _core.SetResult(new ReadResult(default, isCanceled: true, isCompleted: false));
        }
    }

    private void CancelIfRequested()
    {
        if (Volatile.Read(ref _cancelRequested) != 0 || _readToken.IsCancellationRequested)
        {
            CancelWaiting();
        }
    }

    private int IndexOf(SequencePosition position)
    {
        if (position.GetObject() is not null && !ReferenceEquals(position.GetObject(), _buffer))
        {
            throw new InvalidOperationException("The position does not belong to this reader's last read.");
        }

        return position.GetObject() is null ? _start : position.GetInteger();
    }

    private void ReturnBuffer()
    {
        if (_buffer is byte[] buffer)
        {
            _buffer = null;
            _start = _end = _examined = 0;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void ThrowReaderCompleted() => throw new InvalidOperationException("Reading is not allowed after the reader was completed.");

    private static void ThrowConcurrentRead() => throw new InvalidOperationException("A read is already pending.");
}
