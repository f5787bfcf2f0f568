using System.Globalization;
using System.Text;

namespace ConnMsg.Load.Protocol;

/// <summary>Formats the driver's requests straight into a frame's payload span: no strings, no JSON writer.</summary>
public static class RequestWriter
{
    /// <summary>Room for a 64-bit integer in decimal.</summary>
    public const int MaxNumberLength = 20;

    private static ReadOnlySpan<byte> ReqPrefix => "{\"type\":\"req\",\"id\":"u8;

    /// <summary>The JSON string token of exactly <paramref name="size"/> bytes (at least 2) used as echo data.</summary>
    public static byte[] MakeStringPayload(int size)
    {
        size = Math.Max(size, 2);
        var token = new byte[size];
        token.AsSpan().Fill((byte)'x');
        token[0] = (byte)'"';
        token[^1] = (byte)'"';
        return token;
    }

    /// <summary>The constant tail <c>,"op":"&lt;op&gt;","data":&lt;data&gt;}</c> of a request, precomputed once.</summary>
    public static byte[] MakeTail(string op, ReadOnlySpan<byte> dataToken)
    {
        byte[] head = Encoding.UTF8.GetBytes($",\"op\":\"{op}\",\"data\":");
        var tail = new byte[head.Length + dataToken.Length + 1];
        head.CopyTo(tail, 0);
        dataToken.CopyTo(tail.AsSpan(head.Length));
        tail[^1] = (byte)'}';
        return tail;
    }

    /// <summary>The largest request <see cref="WriteRequest"/> writes with <paramref name="tail"/>.</summary>
    public static int MaxRequestLength(ReadOnlySpan<byte> tail) => ReqPrefix.Length + MaxNumberLength + tail.Length;

    /// <summary>Writes <c>{"type":"req","id":&lt;id&gt;</c> followed by <paramref name="tail"/>; returns the length.</summary>
    public static int WriteRequest(Span<byte> destination, long id, ReadOnlySpan<byte> tail)
    {
        ReqPrefix.CopyTo(destination);
        int at = ReqPrefix.Length;
        id.TryFormat(destination[at..], out int written, default, CultureInfo.InvariantCulture);
        at += written;
        tail.CopyTo(destination[at..]);
        return at + tail.Length;
    }

    /// <summary>The constant head of a publish request's <c>data</c> up to the probe, for <see cref="WritePublish"/>.</summary>
    public static byte[] MakePublishHead(string topic) =>
        Encoding.UTF8.GetBytes($",\"op\":\"publish\",\"data\":{{\"topic\":\"{topic}\",\"data\":{{\"p\":");

    /// <summary>The largest request <see cref="WritePublish"/> writes.</summary>
    public static int MaxPublishLength(ReadOnlySpan<byte> head, ReadOnlySpan<byte> padding) =>
        ReqPrefix.Length + head.Length + (4 * MaxNumberLength) + 32 + padding.Length;

    /// <summary>
    /// Writes a <c>publish</c> request whose Ind data is the probe <c>{"p":…,"c":…,"t":…}</c>, optionally padded
    /// with <c>"pad":&lt;padding&gt;</c> to reach a payload size; returns the length.
    /// </summary>
    public static int WritePublish(Span<byte> destination, long id, ReadOnlySpan<byte> head, long publisher, long counter, long timestamp, ReadOnlySpan<byte> padding)
    {
        int at = WriteRequest(destination, id, head);
        at += Number(destination[at..], publisher);
        at += Literal(destination[at..], ",\"c\":"u8);
        at += Number(destination[at..], counter);
        at += Literal(destination[at..], ",\"t\":"u8);
        at += Number(destination[at..], timestamp);
        if (!padding.IsEmpty)
        {
            at += Literal(destination[at..], ",\"pad\":"u8);
            at += Literal(destination[at..], padding);
        }

        at += Literal(destination[at..], "}}}"u8);
        return at;
    }

    private static int Number(Span<byte> destination, long value)
    {
        value.TryFormat(destination, out int written, default, CultureInfo.InvariantCulture);
        return written;
    }

    private static int Literal(Span<byte> destination, ReadOnlySpan<byte> literal)
    {
        literal.CopyTo(destination);
        return literal.Length;
    }
}
