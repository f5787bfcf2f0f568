using System.Text.Json;

namespace ConnMsg.Client.Internal;

/// <summary>Writes exactly one JSON value, the <c>data</c> member, from <paramref name="state"/>; a static lambda plus state avoids a closure per request.</summary>
internal delegate void DataWriter<TState>(Utf8JsonWriter writer, TState state);
