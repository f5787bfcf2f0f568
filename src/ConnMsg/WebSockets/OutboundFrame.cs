using System.Buffers;
using System.Diagnostics;

namespace ConnMsg.WebSockets;

/// <summary>
/// One or more complete server frames in a pooled buffer, shared by reference count so that a fan-out
/// writes the same bytes to every subscriber. The buffer returns to the pool when the last holder releases it.
/// </summary>
/// <remarks>Thread-safe for <see cref="AddRef()"/>/<see cref="Release"/>; the bytes are immutable once enqueued.</remarks>
internal sealed class OutboundFrame
{
    private static readonly ArrayPool<byte> Buffers = ArrayPool<byte>.Shared;
    private static readonly Internal.SlotPool<OutboundFrame> Pool = new(1024, static () => new OutboundFrame());

    /// <summary>
    /// A pooled frame keeps a buffer up to this size, so the usual small answer or Ind costs no trip to the array pool
    /// (two thread-local lookups per frame); the frames the pool holds then keep at most 1024 × this between them.
    /// </summary>
    private const int KeptBufferBytes = 1024;

    private byte[] _buffer = Array.Empty<byte>();
    private int _offset;
    private int _length;
    private int _refCount;

    /// <summary>The frame bytes, header included.</summary>
    public ReadOnlySpan<byte> Span => _buffer.AsSpan(_offset, _length);

    /// <summary>Length in bytes on the wire.</summary>
    public int Length => _length;

    /// <summary>True when this frame is a close frame: nothing may follow it on the wire.</summary>
    public bool IsClose { get; private set; }

    /// <summary>The payload area that a writer fills; the header is placed in front of it by <see cref="Seal"/>.</summary>
    internal byte[] RawBuffer => _buffer;

    /// <summary>Rents a frame whose payload may take up to <paramref name="payloadCapacity"/> bytes, starting at <see cref="FrameWriter.MaxHeaderLength"/>.</summary>
    public static OutboundFrame Rent(int payloadCapacity)
    {
        OutboundFrame frame = Pool.Rent();
        int needed = payloadCapacity + FrameWriter.MaxHeaderLength;
        if (frame._buffer.Length < needed)
        {
            if (frame._buffer.Length != 0)
            {
                Buffers.Return(frame._buffer);
            }

            frame._buffer = Buffers.Rent(needed);
        }

        frame._offset = 0;
        frame._length = 0;
        frame._refCount = 1;
        frame.IsClose = false;
        return frame;
    }

    /// <summary>Makes sure the payload area can hold <paramref name="payloadCapacity"/> bytes, keeping the first <paramref name="used"/>.</summary>
    public void EnsurePayloadCapacity(int used, int payloadCapacity)
    {
        int needed = payloadCapacity + FrameWriter.MaxHeaderLength;
        if (_buffer.Length >= needed)
        {
            return;
        }

        byte[] bigger = Buffers.Rent(Math.Max(needed, _buffer.Length * 2));
        _buffer.AsSpan(0, FrameWriter.MaxHeaderLength + used).CopyTo(bigger);
        Buffers.Return(_buffer);
        _buffer = bigger;
    }

    /// <summary>Payload area to write into.</summary>
    public Span<byte> PayloadSpan => _buffer.AsSpan(FrameWriter.MaxHeaderLength);

    /// <summary>Writes the header in front of the <paramref name="payloadLength"/> payload bytes already written.</summary>
    public void Seal(WebSocketOpcode opcode, int payloadLength)
    {
        int headerLength = FrameWriter.HeaderLength(payloadLength);
        _offset = FrameWriter.MaxHeaderLength - headerLength;
        FrameWriter.WriteHeader(_buffer.AsSpan(_offset), opcode, payloadLength);
        _length = headerLength + payloadLength;
        IsClose = opcode == WebSocketOpcode.Close;
    }

    /// <summary>Builds a control frame (ping, pong, close) with the given payload.</summary>
    public static OutboundFrame Control(WebSocketOpcode opcode, ReadOnlySpan<byte> payload)
    {
        Debug.Assert(payload.Length <= 125);
        OutboundFrame frame = Rent(payload.Length);
        payload.CopyTo(frame.PayloadSpan);
        frame.Seal(opcode, payload.Length);
        return frame;
    }

    /// <summary>References held now; for tests and debugging (0 once it went back to the pool).</summary>
    internal int References => Volatile.Read(ref _refCount);

    /// <summary>Takes one more reference (one per queue the frame sits in).</summary>
    public void AddRef() => Interlocked.Increment(ref _refCount);

    /// <summary>Adds <paramref name="count"/> references at once (one atomic for a whole fan-out).</summary>
    public void AddRef(int count) => Interlocked.Add(ref _refCount, count);

    /// <summary>Drops one reference; the last one returns the buffer and this object to their pools.</summary>
    public void Release()
    {
        int left = Interlocked.Decrement(ref _refCount);
        if (left == 0)
        {
            if (_buffer.Length > KeptBufferBytes)
            {
                Buffers.Return(_buffer);
                _buffer = Array.Empty<byte>();
            }

            if (!Pool.Return(this) && _buffer.Length != 0)
            {
                // The pool is full and drops this frame: its buffer goes back rather than to the collector.
                Buffers.Return(_buffer);
                _buffer = Array.Empty<byte>();
            }
        }
        else if (left < 0)
        {
            throw new InvalidOperationException("OutboundFrame released more often than referenced.");
        }
    }
}
