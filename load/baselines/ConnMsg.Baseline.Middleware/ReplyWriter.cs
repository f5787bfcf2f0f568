using System.Buffers;
using System.Text.Json;

namespace ConnMsg.Baseline.Middleware;

/// <summary>A per-thread reusable <see cref="Utf8JsonWriter"/> whose output is copied to a fresh array per message.</summary>
/// <remarks>Thread-safety: one instance per thread through <see cref="Rent"/>; not to be shared.</remarks>
internal sealed class ReplyWriter
{
    [ThreadStatic]
    private static ReplyWriter? t_cached;

    private readonly ArrayBufferWriter<byte> _buffer = new(1024);

    private ReplyWriter()
    {
        Json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { SkipValidation = true });
    }

    /// <summary>The writer to fill.</summary>
    public Utf8JsonWriter Json { get; }

    /// <summary>Returns this thread's writer, emptied.</summary>
    public static ReplyWriter Rent()
    {
        ReplyWriter writer = t_cached ??= new ReplyWriter();
        writer._buffer.ResetWrittenCount();
        writer.Json.Reset(writer._buffer);
        return writer;
    }

    /// <summary>Flushes the JSON and copies it out; the array is what the connection's send queue holds.</summary>
    public byte[] ToArray()
    {
        Json.Flush();
        return _buffer.WrittenSpan.ToArray();
    }
}
