using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace ConnMsg.Client.Internal;

/// <summary>Encodes outbound envelopes (PROTOCOL §3) straight into pooled buffers, <c>type</c> first.</summary>
/// <remarks>
/// Thread-safe: each thread reuses its own <see cref="Utf8JsonWriter"/> and buffer writer, so encoding
/// allocates nothing in the steady state; a nested encode on the same thread (a user converter that
/// sends a request) gets fresh instances instead of corrupting the outer one.
/// </remarks>
internal static class EnvelopeWriter
{
    private static readonly JsonWriterOptions s_writerOptions = new()
    {
        // Relaxed: the JSON never lands in HTML, and escaping non-ASCII would only grow messages towards maxMessage.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly JsonEncodedText s_type = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText s_id = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText s_op = JsonEncodedText.Encode("op");
    private static readonly JsonEncodedText s_data = JsonEncodedText.Encode("data");
    private static readonly JsonEncodedText s_code = JsonEncodedText.Encode("code");
    private static readonly JsonEncodedText s_reason = JsonEncodedText.Encode("reason");
    private static readonly JsonEncodedText s_req = JsonEncodedText.Encode("req");
    private static readonly JsonEncodedText s_cfm = JsonEncodedText.Encode("cfm");
    private static readonly JsonEncodedText s_rej = JsonEncodedText.Encode("rej");

    /// <summary>The characters of op names (PROTOCOL §3, with the reserved leading <c>$</c>): none needs escaping in JSON.</summary>
    private static readonly SearchValues<char> s_plainNameChars = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-:/$");

    /// <summary>A long has at most 19 digits and a sign.</summary>
    private const int MaxIdDigits = 20;

    [ThreadStatic] private static PooledBufferWriter? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;
    [ThreadStatic] private static bool t_inUse;

    public static OutboundMessage WriteRequest<TState>(long id, string op, TState state, DataWriter<TState>? data)
    {
        if (op.AsSpan().ContainsAnyExcept(s_plainNameChars))
        {
            // Not a name NameGuard lets through; the writer escapes whatever it holds.
            return Write((id, op, state, data), static (w, s) =>
            {
                w.WriteString(s_type, s_req);
                w.WriteNumber(s_id, s.id);
                w.WriteString(s_op, s.op);
                if (s.data is not null)
                {
                    w.WritePropertyName(s_data);
                    s.data(w, s.state);
                }
            });
        }

        var buffer = Rent(out var w, out bool pooled);
        try
        {
            // Every request has this shape, so all but its data is written as raw bytes: the names are constants, the
            // id is a number and the op's characters need no escaping. The writer only writes the data, as a root value.
            var span = buffer.GetSpan(RequestStart.Length + MaxIdDigits + OpMember.Length + op.Length + DataMember.Length);
            RequestStart.CopyTo(span);
            int length = RequestStart.Length;
            Utf8Formatter.TryFormat(id, span[length..], out int digits);
            length += digits;
            OpMember.CopyTo(span[length..]);
            length += OpMember.Length;
            length += Encoding.ASCII.GetBytes(op, span[length..]);
            if (data is null)
            {
                span[length++] = (byte)'"';
                span[length++] = (byte)'}';
                buffer.Advance(length);
                return buffer.Detach();
            }

            DataMember.CopyTo(span[length..]);
            buffer.Advance(length + DataMember.Length);
            data(w, state);
            w.Flush();
            if (w.BytesCommitted == 0 || w.CurrentDepth != 0)
            {
                throw new InvalidOperationException("The request's data writer did not write one complete JSON value.");
            }

            buffer.GetSpan(1)[0] = (byte)'}';
            buffer.Advance(1);
            return buffer.Detach();
        }
        catch
        {
            buffer.Clear();
            throw;
        }
        finally
        {
            Release(pooled);
        }
    }

    /// <summary>Answers a peer request; <paramref name="rawId"/> is echoed as the same JSON token (PROTOCOL §3).</summary>
    public static OutboundMessage WriteCfm(ReadOnlySpan<byte> rawId, ReadOnlySpan<byte> rawData)
    {
        var buffer = Rent(out var w, out bool pooled);
        try
        {
            w.WriteStartObject();
            w.WriteString(s_type, s_cfm);
            w.WritePropertyName(s_id);
            w.WriteRawValue(rawId, skipInputValidation: true);
            if (!rawData.IsEmpty)
            {
                w.WritePropertyName(s_data);
                w.WriteRawValue(rawData, skipInputValidation: false);
            }

            w.WriteEndObject();
            w.Flush();
            return buffer.Detach();
        }
        catch
        {
            buffer.Clear();
            throw;
        }
        finally
        {
            Release(pooled);
        }
    }

    /// <summary>Rejects a peer request; a null <paramref name="rawId"/> writes <c>"id":null</c> (PROTOCOL §4, bad_message).</summary>
    public static OutboundMessage WriteRej(ReadOnlySpan<byte> rawId, string code, string? reason)
    {
        var buffer = Rent(out var w, out bool pooled);
        try
        {
            w.WriteStartObject();
            w.WriteString(s_type, s_rej);
            if (rawId.IsEmpty)
            {
                w.WriteNull(s_id);
            }
            else
            {
                w.WritePropertyName(s_id);
                w.WriteRawValue(rawId, skipInputValidation: true);
            }

            w.WriteString(s_code, code);
            if (reason is not null)
            {
                w.WriteString(s_reason, reason);
            }

            w.WriteEndObject();
            w.Flush();
            return buffer.Detach();
        }
        catch
        {
            buffer.Clear();
            throw;
        }
        finally
        {
            Release(pooled);
        }
    }

    private static ReadOnlySpan<byte> RequestStart => "{\"type\":\"req\",\"id\":"u8;

    private static ReadOnlySpan<byte> OpMember => ",\"op\":\""u8;

    /// <summary>Closes the op's string and opens data.</summary>
    private static ReadOnlySpan<byte> DataMember => "\",\"data\":"u8;

    private static OutboundMessage Write<TState>(TState state, DataWriter<TState> members)
    {
        var buffer = Rent(out var w, out bool pooled);
        try
        {
            w.WriteStartObject();
            members(w, state);
            w.WriteEndObject();
            w.Flush();
            return buffer.Detach();
        }
        catch
        {
            buffer.Clear();
            throw;
        }
        finally
        {
            Release(pooled);
        }
    }

    private static PooledBufferWriter Rent(out Utf8JsonWriter writer, out bool pooled)
    {
        if (t_inUse)
        {
            var fresh = new PooledBufferWriter();
            writer = new Utf8JsonWriter(fresh, s_writerOptions);
            pooled = false;
            return fresh;
        }

        t_inUse = true;
        pooled = true;
        var buffer = t_buffer ??= new PooledBufferWriter();
        buffer.Clear();
        if (t_writer is null)
        {
            t_writer = new Utf8JsonWriter(buffer, s_writerOptions);
        }
        else
        {
            // Reset also clears a half-written state left behind by a serializer that threw.
            t_writer.Reset(buffer);
        }

        writer = t_writer;
        return buffer;
    }

    private static void Release(bool pooled)
    {
        if (pooled)
        {
            t_inUse = false;
        }
    }
}
