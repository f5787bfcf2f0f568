using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace ConnMsg.Messaging;

/// <summary>
/// A per-thread buffer and JSON writer that a typed value is serialised into and read back from before the call
/// returns, so that publishing a typed Ind allocates nothing once the buffer has grown to the usual size.
/// </summary>
/// <remarks>
/// Not thread-safe by design: one per thread, taken with <see cref="TryTake"/> and handed back with <see cref="Return"/>.
/// A serialiser that publishes from inside a converter finds it taken and serialises to a fresh array instead.
/// The writer follows the type info's <see cref="JsonSerializerOptions"/> as
/// <see cref="JsonSerializer.SerializeToUtf8Bytes{TValue}(TValue, JsonTypeInfo{TValue})"/> does (encoder, depth), but
/// never indents (see <see cref="WriterOptions"/>); it is made again only when a thread publishes with other options
/// than the last time.
/// </remarks>
internal sealed class JsonScratch
{
    /// <summary>A buffer grown past this by a large value is dropped once that value is published.</summary>
    private const int MaxKeptBytes = 64 * 1024;

    [ThreadStatic]
    private static JsonScratch? t_scratch;

    private ArrayBufferWriter<byte> _buffer = new(256);
    private Utf8JsonWriter? _writer;
    private JsonSerializerOptions? _writerOptions;
    private bool _taken;

    /// <summary>This thread's scratch, unless it is in use further up the stack.</summary>
    public static JsonScratch? TryTake()
    {
        JsonScratch scratch = t_scratch ??= new JsonScratch();
        if (scratch._taken)
        {
            return null;
        }

        scratch._taken = true;
        return scratch;
    }

    /// <summary>Serialises <paramref name="value"/>; the bytes stay valid until <see cref="Return"/>.</summary>
    public ReadOnlySpan<byte> Serialize<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        Utf8JsonWriter writer = WriterFor(typeInfo.Options);
        JsonSerializer.Serialize(writer, value, typeInfo);
        writer.Flush();
        return _buffer.WrittenSpan;
    }

    /// <summary>
    /// <paramref name="value"/> serialised as <see cref="Serialize"/> writes it, into an array of its own: through this
    /// thread's scratch when it is free, else through a writer made for the call.
    /// </summary>
    public static byte[] SerializeToArray<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        JsonScratch? scratch = TryTake();
        if (scratch is not null)
        {
            try
            {
                return scratch.Serialize(value, typeInfo).ToArray();
            }
            finally
            {
                scratch.Return();
            }
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions(typeInfo.Options)))
        {
            JsonSerializer.Serialize(writer, value, typeInfo);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Empties the scratch for the next caller on this thread, also after a serialiser that threw.</summary>
    public void Return()
    {
        if (_buffer.Capacity > MaxKeptBytes)
        {
            _buffer = new ArrayBufferWriter<byte>(256);
        }
        else
        {
            _buffer.ResetWrittenCount();
        }

        _writer?.Reset(_buffer);
        _taken = false;
    }

    /// <summary>
    /// What a writer of a value for the wire takes from the value's <see cref="JsonSerializerOptions"/>: its encoder and
    /// its depth limit (the serialiser's own default, 64, when left at 0). Never indentation: a message is one line,
    /// and options that indent for files or logs would only add bytes that count against the peer's message size limit.
    /// </summary>
    public static JsonWriterOptions WriterOptions(JsonSerializerOptions options) => new()
    {
        Encoder = options.Encoder,
        MaxDepth = options.MaxDepth == 0 ? 64 : options.MaxDepth,
    };

    private Utf8JsonWriter WriterFor(JsonSerializerOptions options)
    {
        if (_writer is null || !ReferenceEquals(options, _writerOptions))
        {
            _writer = new Utf8JsonWriter(_buffer, WriterOptions(options));
            _writerOptions = options;
        }

        return _writer;
    }
}
