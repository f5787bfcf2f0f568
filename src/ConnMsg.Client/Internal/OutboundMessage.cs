using System.Buffers;

namespace ConnMsg.Client.Internal;

/// <summary>One encoded message owning a pooled buffer until it has been sent.</summary>
/// <remarks>Ownership moves with the value: exactly one holder calls <see cref="Return"/>.</remarks>
internal readonly struct OutboundMessage
{
    private readonly byte[]? _buffer;

    public OutboundMessage(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }

    public bool IsEmpty => _buffer is null;

    public ReadOnlyMemory<byte> Memory => _buffer is null ? default : _buffer.AsMemory(0, Length);

    public void Return()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }
    }
}
