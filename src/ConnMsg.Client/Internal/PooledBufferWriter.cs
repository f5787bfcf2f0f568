using System.Buffers;

namespace ConnMsg.Client.Internal;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over <see cref="ArrayPool{T}"/> arrays whose filled buffer is handed off
/// as an <see cref="OutboundMessage"/>, so encoding a message allocates nothing in the steady state.
/// </summary>
/// <remarks>Not thread-safe; one instance per thread (see <see cref="EnvelopeWriter"/>).</remarks>
internal sealed class PooledBufferWriter : IBufferWriter<byte>
{
    private byte[] _buffer = [];
    private int _written;

    public int WrittenCount => _written;

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    /// <summary>Hands the written bytes off; the writer starts over with no buffer.</summary>
    public OutboundMessage Detach()
    {
        var message = new OutboundMessage(_buffer, _written);
        _buffer = [];
        _written = 0;
        return message;
    }

    /// <summary>Drops whatever was written (after a failed encode) and keeps the buffer for reuse.</summary>
    public void Clear() => _written = 0;

    private void Ensure(int sizeHint)
    {
        int needed = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written >= needed)
        {
            return;
        }

        int size = Math.Max(Math.Max(_buffer.Length * 2, _written + needed), 256);
        byte[] next = ArrayPool<byte>.Shared.Rent(size);
        _buffer.AsSpan(0, _written).CopyTo(next);
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = next;
    }
}
