using System.Text.Json;

namespace ConnMsg.Messaging;

/// <summary>
/// The payload writer and JSON writers that <see cref="MessageWriter"/> writes a frame with: one set per thread, taken
/// for the length of one frame. A frame written while the thread's set is taken (a value's converter that sends another
/// typed Cfm or Ind, a callback that writes another message) gets a set of its own, made for it, so that neither frame
/// writes into the other's.
/// </summary>
/// <remarks>
/// Not thread-safe by design: <see cref="Take"/> and <see cref="Return"/> on the thread that writes the frame. The JSON
/// writer for a typed value follows its type info's encoder and depth: one for options that leave both at their
/// defaults, one for the others, made again only when a thread writes a value whose options ask for another encoder or
/// depth than the last such value's did.
/// </remarks>
internal sealed class FrameScratch
{
    [ThreadStatic]
    private static FrameScratch? t_scratch;

    private Utf8JsonWriter? _json;
    private Utf8JsonWriter? _defaultValueJson;
    private Utf8JsonWriter? _valueJson;
    private bool _taken;

    /// <summary>The frame's payload, as an <see cref="System.Buffers.IBufferWriter{T}"/>.</summary>
    public FramePayloadWriter Payload { get; } = new();

    /// <summary>This thread's set, or a new one when this thread's is writing a frame further up the stack.</summary>
    public static FrameScratch Take()
    {
        FrameScratch scratch = t_scratch ??= new FrameScratch();
        if (scratch._taken)
        {
            // Nested: rare (a converter or callback that sends), so made for the call rather than pooled.
            scratch = new FrameScratch();
        }

        scratch._taken = true;
        return scratch;
    }

    /// <summary>
    /// Frees the set for the next frame, once the frame is finished or writing it threw. A frame left unfinished (the
    /// application's serialisation failed: a NaN, a cycle, an unsupported type) goes back to the pool; the JSON writers
    /// are reset by their next use.
    /// </summary>
    public void Return()
    {
        Payload.Abandon();
        _taken = false;
    }

    /// <summary>The envelope writer over <see cref="Payload"/>: validating, not indented.</summary>
    public Utf8JsonWriter Json()
    {
        if (_json is null)
        {
            _json = new Utf8JsonWriter(Payload, new JsonWriterOptions { SkipValidation = false, Indented = false });
        }
        else
        {
            _json.Reset(Payload);
        }

        return _json;
    }

    /// <summary>The writer over <see cref="Payload"/> for a value serialised with <paramref name="options"/>.</summary>
    public Utf8JsonWriter ValueJson(JsonSerializerOptions options)
    {
        // Options left at their defaults keep a writer of their own, so that a thread alternating between them and one
        // other set makes no writer per value.
        bool defaults = options.Encoder is null && options.MaxDepth == 0;
        Utf8JsonWriter? w = defaults ? _defaultValueJson : _valueJson;
        JsonWriterOptions wanted = JsonScratch.WriterOptions(options);
        if (w is not null && ReferenceEquals(w.Options.Encoder, wanted.Encoder) && w.Options.MaxDepth == wanted.MaxDepth)
        {
            w.Reset(Payload);
            return w;
        }

        w = new Utf8JsonWriter(Payload, wanted);
        if (defaults)
        {
            _defaultValueJson = w;
        }
        else
        {
            _valueJson = w;
        }

        return w;
    }
}
