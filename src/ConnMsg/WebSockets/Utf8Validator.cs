using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace ConnMsg.WebSockets;

/// <summary>
/// Incremental UTF-8 validation for text messages that arrive in pieces (frames, pipe segments).
/// A code point split between pieces is carried over; an invalid sequence fails as soon as it is seen.
/// </summary>
/// <remarks>Not thread-safe: one per connection, used by its read loop.</remarks>
internal struct Utf8Validator
{
    private uint _carry;     // up to 3 bytes of an incomplete code point, little-endian
    private int _carryLength;

    /// <summary>Forgets any carried bytes; call at the start of each message.</summary>
    public void Reset()
    {
        _carry = 0;
        _carryLength = 0;
    }

    /// <summary>Validates the next piece. Returns false on the first invalid sequence, or at the end of a message that stops mid code point.</summary>
    public bool TryValidate(ReadOnlySpan<byte> piece, bool endOfMessage)
    {
        if (_carryLength > 0)
        {
            Span<byte> joined = stackalloc byte[4];
            for (int k = 0; k < _carryLength; k++)
            {
                joined[k] = (byte)(_carry >> (8 * k));
            }

            int take = Math.Min(4 - _carryLength, piece.Length);
            piece[..take].CopyTo(joined[_carryLength..]);
            OperationStatus status = Rune.DecodeFromUtf8(joined[..(_carryLength + take)], out _, out int consumed);
            if (status == OperationStatus.Done)
            {
                piece = piece[(consumed - _carryLength)..];
                Reset();
            }
            else if (status == OperationStatus.NeedMoreData)
            {
                // The piece was too short to finish the code point; keep what we have.
                for (int k = 0; k < take; k++)
                {
                    _carry |= (uint)piece[k] << (8 * (_carryLength + k));
                }

                _carryLength += take;
                return !endOfMessage;
            }
            else
            {
                return false;
            }
        }

        int tailStart = IncompleteTailStart(piece);
        if (!Utf8.IsValid(piece[..tailStart]))
        {
            return false;
        }

        ReadOnlySpan<byte> tail = piece[tailStart..];
        if (tail.IsEmpty)
        {
            return true;
        }

        if (endOfMessage)
        {
            return false;
        }

        for (int k = 0; k < tail.Length; k++)
        {
            _carry |= (uint)tail[k] << (8 * k);
        }

        _carryLength = tail.Length;
        return true;
    }

    /// <summary>Start of a trailing valid-but-incomplete code point, or the length when the piece ends on a boundary (or ends invalid, which IsValid then reports).</summary>
    private static int IncompleteTailStart(ReadOnlySpan<byte> piece)
    {
        int lowest = Math.Max(0, piece.Length - 3);
        for (int i = piece.Length - 1; i >= lowest; i--)
        {
            byte b = piece[i];
            if ((b & 0xC0) == 0x80)
            {
                continue; // continuation byte: keep looking for the lead byte
            }

            OperationStatus status = Rune.DecodeFromUtf8(piece[i..], out _, out _);
            return status == OperationStatus.NeedMoreData ? i : piece.Length;
        }

        return piece.Length;
    }
}
