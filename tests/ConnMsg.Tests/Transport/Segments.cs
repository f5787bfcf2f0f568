using System.Buffers;

namespace ConnMsg.Tests.Transport;

/// <summary>The three ways every valid input is fed (STYLE.md rule 8).</summary>
public enum Feed
{
    /// <summary>All bytes in one segment, one write.</summary>
    Whole,
    /// <summary>All bytes in one write, but one segment per byte: every multi-byte read crosses segments.</summary>
    SegmentPerByte,
    /// <summary>One byte per write; the reader sees every prefix.</summary>
    ByteByByte,
}

/// <summary>Builds multi-segment <see cref="ReadOnlySequence{T}"/>s over writable arrays.</summary>
public static class Segments
{
    /// <summary>A sequence with one segment per byte.</summary>
    public static ReadOnlySequence<byte> OnePerByte(byte[] data)
    {
        if (data.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var cuts = Enumerable.Range(1, data.Length - 1).ToArray();
        return Split(data, cuts);
    }

    /// <summary>A sequence cut before each index in <paramref name="cuts"/> (ascending, within 1..Length-1); every piece is its own array.</summary>
    public static ReadOnlySequence<byte> Split(byte[] data, params int[] cuts)
    {
        var pieces = new List<byte[]>();
        int start = 0;
        foreach (int cut in cuts.Append(data.Length))
        {
            pieces.Add(data[start..cut]);
            start = cut;
        }

        return FromPieces(pieces);
    }

    public static ReadOnlySequence<byte> FromPieces(IReadOnlyList<byte[]> pieces)
    {
        if (pieces.Count == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new Segment(pieces[0], 0);
        Segment last = first;
        for (int i = 1; i < pieces.Count; i++)
        {
            last = last.Append(pieces[i]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    internal sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] data, long runningIndex)
        {
            Memory = data;
            RunningIndex = runningIndex;
        }

        public Segment Append(byte[] data)
        {
            var next = new Segment(data, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
