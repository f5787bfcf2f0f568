using System.Buffers;

namespace ConnMsg.Http;

/// <summary>
/// Reads a chunked request body (RFC 9112 §7.1) to its end and keeps none of it: the framing is checked, the data
/// passed over. It serves a server that answers a request without wanting its body, and reads that body anyway so
/// that no request byte is still arriving when it closes (RFC 9112 §9.6).
/// </summary>
/// <remarks>
/// A mutable struct that carries its place in the body from one call to the next; one reader at a time, not
/// thread-safe. Every byte of the body, framing included, counts against the limit it is made with, and a chunk whose
/// declared size would take the body past that limit is refused before any of its data is read.
/// </remarks>
internal struct ChunkedBodySkipper
{
    private readonly int _maxLine;
    private long _left;
    private long _chunkLeft;
    private Part _part;

    /// <param name="maxBodyBytes">The most bytes the whole body may take on the wire, framing and trailer section included.</param>
    /// <param name="maxLineBytes">The longest line of the framing (a chunk size with its extensions, a trailer field), without its CRLF.</param>
    public ChunkedBodySkipper(long maxBodyBytes, int maxLineBytes)
    {
        _left = maxBodyBytes;
        _maxLine = maxLineBytes;
        _part = Part.SizeLine;
    }

    private enum Part : byte
    {
        SizeLine,
        Data,
        DataEnd,
        Trailer,
        Done,
    }

    /// <summary>Whether the body has been read to its end.</summary>
    public readonly bool IsComplete => _part == Part.Done;

    /// <summary>
    /// Passes over every complete line of the body's framing in <paramref name="reader"/>, and over as much chunk data as
    /// it holds. True once the body has ended (the empty line after the trailer section), which is consumed and nothing
    /// after it. False with <see cref="ChunkedBodyError.None"/> while more bytes are needed: a line cut short is left
    /// unconsumed, to be read whole by the next call. False with an error once the framing breaks a rule or the body its
    /// limit; a line too long is known as soon as more bytes than it may have are buffered without its end.
    /// </summary>
    public bool TrySkip(ref SequenceReader<byte> reader, out ChunkedBodyError error)
    {
        error = ChunkedBodyError.None;
        while (true)
        {
            switch (_part)
            {
                case Part.SizeLine:
                    if (!TryReadLine(ref reader, out ReadOnlySequence<byte> sizeLine, out error))
                    {
                        return false;
                    }

                    // The data and the CRLF after it are this chunk's on top of its size line, already counted.
                    if (!TryParseChunkSize(sizeLine, _left, out long size, out error))
                    {
                        return false;
                    }

                    if (size == 0)
                    {
                        _part = Part.Trailer;
                    }
                    else if (size + 2 > _left)
                    {
                        error = ChunkedBodyError.TooLarge;
                        return false;
                    }
                    else
                    {
                        _chunkLeft = size;
                        _part = Part.Data;
                    }

                    break;

                case Part.Data:
                    long taken = Math.Min(_chunkLeft, reader.Remaining);
                    reader.Advance(taken);
                    _chunkLeft -= taken;
                    _left -= taken;
                    if (_chunkLeft > 0)
                    {
                        return false;
                    }

                    _part = Part.DataEnd;
                    break;

                case Part.DataEnd:
                    // Byte by byte, so that a wrong first byte is known without waiting for a second.
                    if (!reader.TryPeek(out byte cr))
                    {
                        return false;
                    }

                    if (cr != (byte)'\r' || (reader.TryPeek(1, out byte lf) && lf != (byte)'\n'))
                    {
                        error = ChunkedBodyError.MalformedChunkEnd;
                        return false;
                    }

                    if (reader.Remaining < 2)
                    {
                        return false;
                    }

                    reader.Advance(2);
                    _left -= 2;
                    _part = Part.SizeLine;
                    break;

                case Part.Trailer:
                    // Trailer fields are passed over like the data: nothing here reads them.
                    if (!TryReadLine(ref reader, out ReadOnlySequence<byte> field, out error))
                    {
                        return false;
                    }

                    if (field.IsEmpty)
                    {
                        _part = Part.Done;
                        return true;
                    }

                    break;

                default:
                    return true;
            }
        }
    }

    /// <summary>
    /// Reads one line ended by CRLF, within the line limit and what is left of the body's; <paramref name="line"/> is
    /// the line without its CRLF. Only as many bytes as the line may have are searched for its end.
    /// </summary>
    private bool TryReadLine(ref SequenceReader<byte> reader, out ReadOnlySequence<byte> line, out ChunkedBodyError error)
    {
        error = ChunkedBodyError.None;
        line = default;
        // The line with its CRLF: no longer than the line limit allows, nor than the body has left.
        long most = Math.Min(_maxLine + 2L, _left);
        ReadOnlySequence<byte> window = reader.UnreadSequence;
        if (window.Length > most)
        {
            window = window.Slice(0, most);
        }

        var probe = new SequenceReader<byte>(window);
        if (!probe.TryReadTo(out line, (byte)'\n', advancePastDelimiter: true))
        {
            if (window.Length == most)
            {
                error = most == _left ? ChunkedBodyError.TooLarge : ChunkedBodyError.LineTooLong;
            }
            else if (window.Length > 1 && window.Slice(0, window.Length - 1).PositionOf((byte)'\r') is not null)
            {
                // A CR that is not the last byte so far and has no LF after it: the line can only end badly.
                error = ChunkedBodyError.MalformedLine;
            }

            return false;
        }

        if (line.IsEmpty || line.Slice(line.Length - 1).FirstSpan[0] != (byte)'\r')
        {
            error = ChunkedBodyError.MalformedLine;
            return false;
        }

        line = line.Slice(0, line.Length - 1);
        if (line.PositionOf((byte)'\r') is not null)
        {
            error = ChunkedBodyError.MalformedLine;
            return false;
        }

        reader.Advance(probe.Consumed);
        _left -= probe.Consumed;
        return true;
    }

    /// <summary>
    /// <c>chunk-size [ chunk-ext ]</c>: one or more hex digits, then nothing or, after optional whitespace, a <c>;</c> that
    /// starts the extensions, which are passed over. A size above <paramref name="most"/> is reported as soon as the
    /// digits read exceed it, so that no count of digits overflows.
    /// </summary>
    private static bool TryParseChunkSize(in ReadOnlySequence<byte> line, long most, out long size, out ChunkedBodyError error)
    {
        size = 0;
        error = ChunkedBodyError.None;
        var reader = new SequenceReader<byte>(line);
        int digits = 0;
        while (reader.TryPeek(out byte b) && HexValue(b) is int value and >= 0)
        {
            reader.Advance(1);
            digits++;
            size = size * 16 + value;
            if (size > most)
            {
                error = ChunkedBodyError.TooLarge;
                return false;
            }
        }

        if (digits == 0)
        {
            error = ChunkedBodyError.MalformedChunkSize;
            return false;
        }

        // chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ): whitespace only before a ";".
        reader.AdvancePastAny((byte)' ', (byte)'\t');
        if (reader.End)
        {
            if (reader.Consumed > digits)
            {
                error = ChunkedBodyError.MalformedChunkSize;
                return false;
            }

            return true;
        }

        if (!reader.IsNext((byte)';'))
        {
            error = ChunkedBodyError.MalformedChunkSize;
            return false;
        }

        // The extensions are not read, but no control character but HTAB belongs in them.
        foreach (ReadOnlyMemory<byte> segment in reader.UnreadSequence)
        {
            if (segment.Span.IndexOfAnyInRange((byte)0, (byte)0x08) >= 0 || segment.Span.IndexOfAnyInRange((byte)0x0A, (byte)0x1F) >= 0 ||
                segment.Span.Contains((byte)0x7F))
            {
                error = ChunkedBodyError.MalformedChunkSize;
                return false;
            }
        }

        return true;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
