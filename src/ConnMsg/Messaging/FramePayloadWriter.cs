using System.Buffers;
using ConnMsg.WebSockets;

namespace ConnMsg.Messaging;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over the payload area of an <see cref="OutboundFrame"/>, so that
/// <see cref="System.Text.Json.Utf8JsonWriter"/> serialises straight into the frame that goes on the wire.
/// </summary>
/// <remarks>Not thread-safe: one per <see cref="FrameScratch"/>, which one thread holds for the length of a frame.</remarks>
internal sealed class FramePayloadWriter : IBufferWriter<byte>
{
    private OutboundFrame? _frame;
    private int _written;

    public int Written => _written;

    public void Start(OutboundFrame frame)
    {
        _frame = frame;
        _written = 0;
    }

    public OutboundFrame Finish(WebSocketOpcode opcode)
    {
        OutboundFrame frame = _frame!;
        frame.Seal(opcode, _written);
        _frame = null;
        return frame;
    }

    /// <summary>Gives back the frame being written when writing it failed part-way, so that it is not lost to the pool.</summary>
    public void Abandon()
    {
        OutboundFrame? frame = _frame;
        _frame = null;
        frame?.Release();
    }

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _frame!.RawBuffer.AsMemory(FrameWriter.MaxHeaderLength + _written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _frame!.RawBuffer.AsSpan(FrameWriter.MaxHeaderLength + _written);
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        _written += bytes.Length;
    }

    private void Ensure(int sizeHint)
    {
        int want = _written + Math.Max(sizeHint, 256);
        _frame!.EnsurePayloadCapacity(_written, want);
    }
}
