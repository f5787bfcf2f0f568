using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ConnMsg.WebSockets;

namespace ConnMsg.Messaging;

/// <summary>
/// Encodes Cfm, Rej, Ind and Req messages (PROTOCOL.md §3, <c>type</c> first) as complete server frames in pooled
/// buffers. Cfm, Ind and Rej are written as plain bytes around the raw id and data when none of their strings needs
/// escaping (the usual case); the rest through a reused <see cref="Utf8JsonWriter"/>, which escapes strings correctly.
/// </summary>
/// <remarks>
/// Thread-safe: each thread reuses its own writers (<see cref="FrameScratch"/>), which a frame holds until it is
/// written; a frame begun while another is being written on the same thread (from a value's converter, a callback)
/// gets writers of its own. A typed value (<see cref="Cfm{T}(ReadOnlySpan{byte}, T, JsonTypeInfo{T})"/>,
/// <see cref="Ind{T}(string, T, JsonTypeInfo{T})"/>) is written by a writer with its type info's encoder and depth.
/// </remarks>
internal static class MessageWriter
{
    private static ReadOnlySpan<byte> CfmPrefix => "{\"type\":\"cfm\",\"id\":"u8;
    private static ReadOnlySpan<byte> DataMember => ",\"data\":"u8;
    private static ReadOnlySpan<byte> IndPrefix => "{\"type\":\"ind\",\"topic\":\""u8;
    private static ReadOnlySpan<byte> SeqMember => ",\"seq\":"u8;

    private static ReadOnlySpan<byte> RejPrefix => "{\"type\":\"rej\",\"id\":"u8;
    private static ReadOnlySpan<byte> CodeMember => ",\"code\":\""u8;
    private static ReadOnlySpan<byte> ReasonMember => ",\"reason\":\""u8;

    /// <summary>
    /// Printable ASCII that a JSON string holds as it is and <see cref="Utf8JsonWriter"/>'s default encoder does not
    /// escape (it escapes <c>" \ &amp; ' + &lt; &gt;</c> and the backtick).
    /// </summary>
    private static readonly SearchValues<char> PlainTextChars =
        SearchValues.Create(" !#$%()*,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_abcdefghijklmnopqrstuvwxyz{|}~");

    /// <summary>A Cfm frame: <paramref name="rawId"/> echoed byte for byte; <paramref name="data"/> raw JSON, or nothing for null.</summary>
    public static OutboundFrame Cfm(ReadOnlySpan<byte> rawId, ReadOnlySpan<byte> data)
    {
        int length = CfmPrefix.Length + rawId.Length + (data.IsEmpty ? 0 : DataMember.Length + data.Length) + 1;
        OutboundFrame frame = OutboundFrame.Rent(length);
        Span<byte> dst = frame.PayloadSpan;
        CfmPrefix.CopyTo(dst);
        int n = CfmPrefix.Length;
        rawId.CopyTo(dst[n..]);
        n += rawId.Length;
        return SealPlain(frame, n, data);
    }

    /// <summary>
    /// A Cfm whose data is <paramref name="value"/> as the serialiser writes it with <paramref name="typeInfo"/>'s options
    /// (its encoder, its depth limit), without indentation; the rest of the message as <see cref="Cfm(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/> writes it.
    /// </summary>
    public static OutboundFrame Cfm<T>(ReadOnlySpan<byte> rawId, T value, JsonTypeInfo<T> typeInfo)
    {
        FrameScratch scratch = FrameScratch.Take();
        try
        {
            FramePayloadWriter payload = StartPlain(scratch, rawId.Length + 64);
            payload.Write(CfmPrefix);
            payload.Write(rawId);
            payload.Write(DataMember);
            return EndValue(scratch, value, typeInfo);
        }
        finally
        {
            scratch.Return();
        }
    }

    /// <summary>
    /// An Ind without seq whose data is <paramref name="value"/> as <see cref="Cfm{T}(ReadOnlySpan{byte}, T, JsonTypeInfo{T})"/>
    /// writes it. <paramref name="topic"/> is a valid topic name (<see cref="Names"/>).
    /// </summary>
    public static OutboundFrame Ind<T>(string topic, T value, JsonTypeInfo<T> typeInfo)
    {
        if (topic.AsSpan().ContainsAnyExcept(PlainTextChars))
        {
            // Not a valid name, which callers have checked: the envelope writer escapes it, at the cost of the value's options.
            return Ind(topic, (value, typeInfo), static (w, s) => JsonSerializer.Serialize(w, s.value, s.typeInfo));
        }

        FrameScratch scratch = FrameScratch.Take();
        try
        {
            FramePayloadWriter payload = StartPlain(scratch, topic.Length + 64);
            Span<byte> prefix = payload.GetSpan(IndPrefix.Length + topic.Length + 1);
            IndPrefix.CopyTo(prefix);
            int n = IndPrefix.Length;
            n += Ascii(topic, prefix[n..]);
            prefix[n++] = (byte)'"';
            payload.Advance(n);
            payload.Write(DataMember);
            return EndValue(scratch, value, typeInfo);
        }
        finally
        {
            scratch.Return();
        }
    }

    private static FramePayloadWriter StartPlain(FrameScratch scratch, int capacity)
    {
        FramePayloadWriter payload = scratch.Payload;
        payload.Start(OutboundFrame.Rent(capacity));
        return payload;
    }

    /// <summary>
    /// Writes <paramref name="value"/> and the closing brace behind what the scratch's payload holds, and seals the frame.
    /// A serialiser that throws leaves the frame to <see cref="FrameScratch.Return"/>, and the writer to its next reset.
    /// </summary>
    private static OutboundFrame EndValue<T>(FrameScratch scratch, T value, JsonTypeInfo<T> typeInfo)
    {
        Utf8JsonWriter w = scratch.ValueJson(typeInfo.Options);
        JsonSerializer.Serialize(w, value, typeInfo);
        w.Flush();
        scratch.Payload.Write("}"u8);
        return scratch.Payload.Finish(WebSocketOpcode.Text);
    }

    /// <summary>A Cfm whose data a callback writes with a JSON writer.</summary>
    public static OutboundFrame Cfm<TState>(ReadOnlySpan<byte> rawId, TState state, Action<Utf8JsonWriter, TState> writeData)
    {
        FrameScratch scratch = FrameScratch.Take();
        try
        {
            Utf8JsonWriter w = Begin(scratch, rawId.Length + 64);
            w.WriteStartObject();
            w.WriteString("type"u8, "cfm"u8);
            w.WritePropertyName("id"u8);
            w.WriteRawValue(rawId, skipInputValidation: true);
            w.WritePropertyName("data"u8);
            writeData(w, state);
            w.WriteEndObject();
            return End(w, scratch.Payload);
        }
        finally
        {
            scratch.Return();
        }
    }

    /// <summary>A Rej frame; <paramref name="rawId"/> empty writes <c>"id":null</c>.</summary>
    public static OutboundFrame Rej(ReadOnlySpan<byte> rawId, string code, string? reason)
    {
        if (TryWritePlainRej(rawId, code, reason) is OutboundFrame plain)
        {
            return plain;
        }

        FrameScratch scratch = FrameScratch.Take();
        try
        {
            Utf8JsonWriter w = Begin(scratch, rawId.Length + 64 + (reason?.Length ?? 0) * 3);
            w.WriteStartObject();
            w.WriteString("type"u8, "rej"u8);
            w.WritePropertyName("id"u8);
            if (rawId.IsEmpty)
            {
                w.WriteNullValue();
            }
            else
            {
                w.WriteRawValue(rawId, skipInputValidation: true);
            }

            w.WriteString("code"u8, code);
            if (reason is not null)
            {
                w.WriteString("reason"u8, reason);
            }

            w.WriteEndObject();
            return End(w, scratch.Payload);
        }
        finally
        {
            scratch.Return();
        }
    }

    /// <summary>
    /// The Rej of <see cref="Rej"/> written as plain bytes when its code and reason are <see cref="PlainTextChars"/>
    /// (every built-in one is): a server shedding load answers many requests with the same Rej. Null otherwise.
    /// </summary>
    private static OutboundFrame? TryWritePlainRej(ReadOnlySpan<byte> rawId, string code, string? reason)
    {
        if (code.AsSpan().ContainsAnyExcept(PlainTextChars) || (reason is not null && reason.AsSpan().ContainsAnyExcept(PlainTextChars)))
        {
            return null;
        }

        int length = RejPrefix.Length + Math.Max(rawId.Length, 4) + CodeMember.Length + code.Length + 1 +
                     (reason is null ? 0 : ReasonMember.Length + reason.Length + 1) + 1;
        OutboundFrame frame = OutboundFrame.Rent(length);
        Span<byte> dst = frame.PayloadSpan;
        RejPrefix.CopyTo(dst);
        int n = RejPrefix.Length;
        ReadOnlySpan<byte> id = rawId.IsEmpty ? "null"u8 : rawId;
        id.CopyTo(dst[n..]);
        n += id.Length;
        CodeMember.CopyTo(dst[n..]);
        n += CodeMember.Length;
        n += Ascii(code, dst[n..]);
        dst[n++] = (byte)'"';
        if (reason is not null)
        {
            ReasonMember.CopyTo(dst[n..]);
            n += ReasonMember.Length;
            n += Ascii(reason, dst[n..]);
            dst[n++] = (byte)'"';
        }

        return SealPlain(frame, n, default);
    }

    /// <summary>Narrows characters already known to be ASCII (a plain loop: for names this short it beats <c>Encoding.ASCII</c>).</summary>
    private static int Ascii(ReadOnlySpan<char> text, Span<byte> dst)
    {
        for (int i = 0; i < text.Length; i++)
        {
            dst[i] = (byte)text[i];
        }

        return text.Length;
    }

    /// <summary>An Ind frame; <paramref name="seq"/> 0 leaves seq out; <paramref name="data"/> raw JSON, or empty for none.</summary>
    public static OutboundFrame Ind(ReadOnlySpan<char> topic, long seq, ReadOnlySpan<byte> data, bool validateData)
    {
        if (!validateData && TryWritePlainInd(topic, seq, data) is OutboundFrame plain)
        {
            return plain;
        }

        FrameScratch scratch = FrameScratch.Take();
        try
        {
            Utf8JsonWriter w = Begin(scratch, topic.Length + data.Length + 64);
            w.WriteStartObject();
            w.WriteString("type"u8, "ind"u8);
            w.WriteString("topic"u8, topic);
            if (seq > 0)
            {
                w.WriteNumber("seq"u8, seq);
            }

            if (!data.IsEmpty)
            {
                w.WritePropertyName("data"u8);
                w.WriteRawValue(data, skipInputValidation: !validateData);
            }

            w.WriteEndObject();
            return End(w, scratch.Payload);
        }
        finally
        {
            scratch.Return();
        }
    }

    /// <summary>
    /// The Ind of <see cref="Ind(ReadOnlySpan{char}, long, ReadOnlySpan{byte}, bool)"/> written as plain bytes, like
    /// the Cfm, when its topic is <see cref="PlainTextChars"/> (every valid name is): byte for byte what the writer
    /// produces, at a fraction of the cost. Null for any other topic.
    /// </summary>
    private static OutboundFrame? TryWritePlainInd(ReadOnlySpan<char> topic, long seq, ReadOnlySpan<byte> data)
    {
        if (topic.ContainsAnyExcept(PlainTextChars))
        {
            return null;
        }

        int length = IndPrefix.Length + topic.Length + 1 + (seq > 0 ? SeqMember.Length + 20 : 0) +
                     (data.IsEmpty ? 0 : DataMember.Length + data.Length) + 1;
        OutboundFrame frame = OutboundFrame.Rent(length);
        Span<byte> dst = frame.PayloadSpan;
        IndPrefix.CopyTo(dst);
        int n = IndPrefix.Length;
        n += Ascii(topic, dst[n..]);
        dst[n++] = (byte)'"';
        if (seq > 0)
        {
            SeqMember.CopyTo(dst[n..]);
            n += SeqMember.Length;
            Utf8Formatter.TryFormat(seq, dst[n..], out int digits);
            n += digits;
        }

        return SealPlain(frame, n, data);
    }

    /// <summary>Ends a message written as plain bytes up to <paramref name="n"/>: its <c>data</c> member if any, the closing brace, the frame header.</summary>
    private static OutboundFrame SealPlain(OutboundFrame frame, int n, ReadOnlySpan<byte> data)
    {
        Span<byte> dst = frame.PayloadSpan;
        if (!data.IsEmpty)
        {
            DataMember.CopyTo(dst[n..]);
            n += DataMember.Length;
            data.CopyTo(dst[n..]);
            n += data.Length;
        }

        dst[n++] = (byte)'}';
        frame.Seal(WebSocketOpcode.Text, n);
        return frame;
    }

    /// <summary>An Ind whose data a callback writes.</summary>
    public static OutboundFrame Ind<TState>(string topic, TState state, Action<Utf8JsonWriter, TState> writeData)
    {
        FrameScratch scratch = FrameScratch.Take();
        try
        {
            Utf8JsonWriter w = Begin(scratch, topic.Length + 128);
            w.WriteStartObject();
            w.WriteString("type"u8, "ind"u8);
            w.WriteString("topic"u8, topic);
            w.WritePropertyName("data"u8);
            writeData(w, state);
            w.WriteEndObject();
            return End(w, scratch.Payload);
        }
        finally
        {
            scratch.Return();
        }
    }

    /// <summary>A server-initiated Req frame with a numeric id.</summary>
    public static OutboundFrame Req(long id, string op, ReadOnlySpan<byte> data)
    {
        FrameScratch scratch = FrameScratch.Take();
        try
        {
            Utf8JsonWriter w = Begin(scratch, op.Length + data.Length + 64);
            w.WriteStartObject();
            w.WriteString("type"u8, "req"u8);
            w.WriteNumber("id"u8, id);
            w.WriteString("op"u8, op);
            if (!data.IsEmpty)
            {
                w.WritePropertyName("data"u8);
                w.WriteRawValue(data, skipInputValidation: false);
            }

            w.WriteEndObject();
            return End(w, scratch.Payload);
        }
        finally
        {
            scratch.Return();
        }
    }

    /// <summary>Starts a frame in <paramref name="scratch"/> and returns its envelope writer, reset over the frame's payload.</summary>
    private static Utf8JsonWriter Begin(FrameScratch scratch, int capacity)
    {
        scratch.Payload.Start(OutboundFrame.Rent(capacity));
        return scratch.Json();
    }

    private static OutboundFrame End(Utf8JsonWriter w, FramePayloadWriter payload)
    {
        w.Flush();
        return payload.Finish(WebSocketOpcode.Text);
    }
}
