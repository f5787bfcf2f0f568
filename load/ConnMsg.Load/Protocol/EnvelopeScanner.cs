using System.Buffers.Text;
using System.Text.Json;

namespace ConnMsg.Load.Protocol;

/// <summary>Reads an <see cref="Envelope"/> out of one message with <see cref="Utf8JsonReader"/>, allocation-free.</summary>
public static class EnvelopeScanner
{
    /// <summary>Scans <paramref name="json"/>; false when it is not a JSON object.</summary>
    public static bool TryScan(ReadOnlySpan<byte> json, out Envelope envelope)
    {
        envelope = default;
        envelope.Id = -1;
        var reader = new Utf8JsonReader(json, isFinalBlock: true, state: default);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    envelope.Kind =
                        reader.ValueTextEquals("cfm"u8) ? EnvelopeKind.Cfm :
                        reader.ValueTextEquals("ind"u8) ? EnvelopeKind.Ind :
                        reader.ValueTextEquals("rej"u8) ? EnvelopeKind.Rej :
                        reader.ValueTextEquals("req"u8) ? EnvelopeKind.Req : EnvelopeKind.Unknown;
                }
                else if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long id))
                    {
                        envelope.Id = id;
                    }
                }
                else if (reader.ValueTextEquals("data"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        ReadProbe(ref reader, ref envelope);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return true;
        }
        catch (JsonException)
        {
            // Malformed JSON from a server under test is a finding, not a crash of the driver.
            return false;
        }
    }

    /// <summary>
    /// The echo fast path: true when <paramref name="json"/> is exactly <c>{"type":"cfm","id":ID,"data":DATA}</c>, the
    /// compact shape every server here sends, with <paramref name="expectedData"/> as DATA byte for byte. False for
    /// anything else (other member order, whitespace, another answer), which <see cref="TryScan"/> then reads in full.
    /// </summary>
    /// <remarks>
    /// At 16 requests in flight the driver spent about an eighth of its core in <see cref="Utf8JsonReader"/> (perf),
    /// and the driver was at a full core: it capped the servers it measured.
    /// </remarks>
    public static bool TryScanEchoCfm(ReadOnlySpan<byte> json, ReadOnlySpan<byte> expectedData, out long id)
    {
        id = -1;
        ReadOnlySpan<byte> prefix = "{\"type\":\"cfm\",\"id\":"u8;
        ReadOnlySpan<byte> dataMember = ",\"data\":"u8;
        if (!json.StartsWith(prefix) || json.Length < prefix.Length + 1 + dataMember.Length + expectedData.Length + 1
            || json[^1] != (byte)'}' || !json[^(expectedData.Length + 1)..^1].SequenceEqual(expectedData))
        {
            return false;
        }

        ReadOnlySpan<byte> number = json[prefix.Length..^(expectedData.Length + 1)];
        // A JSON number here: digits only, no sign, no leading zero unless it is the only digit.
        return Utf8Parser.TryParse(number, out long value, out int consumed)
            && consumed > 0 && number[0] is >= (byte)'0' and <= (byte)'9' && (number[0] != (byte)'0' || consumed == 1)
            && number[consumed..].SequenceEqual(dataMember)
            && (id = value) >= 0;
    }

    /// <summary>
    /// The fan-out fast path: reads the probe of an Ind in the compact shape every server here sends,
    /// <c>{"type":"ind",…,"data":{"p":P,"c":C,"t":T}}</c>, without a JSON reader. Returns false for anything else
    /// (other member order, whitespace, padding), which <see cref="TryScan"/> then reads in full.
    /// </summary>
    /// <remarks>
    /// Receiving a thousand sockets' Inds, the driver spent about a third of its core in <see cref="Utf8JsonReader"/>,
    /// which made it, not the server, the bottleneck of the fan-out scenario.
    /// </remarks>
    public static bool TryScanProbeInd(ReadOnlySpan<byte> json, out long publisher, out long counter, out long timestamp)
    {
        publisher = counter = timestamp = 0;
        if (!json.StartsWith("{\"type\":\"ind\","u8) || !json.EndsWith("}}"u8))
        {
            return false;
        }

        int data = json.LastIndexOf("\"data\":{\"p\":"u8);
        if (data < 0)
        {
            return false;
        }

        ReadOnlySpan<byte> rest = json[(data + "\"data\":{\"p\":"u8.Length)..^2];
        return TryReadNumber(ref rest, default, out publisher)
            && TryReadNumber(ref rest, ",\"c\":"u8, out counter)
            && TryReadNumber(ref rest, ",\"t\":"u8, out timestamp)
            && rest.IsEmpty;
    }

    private static bool TryReadNumber(ref ReadOnlySpan<byte> rest, ReadOnlySpan<byte> separator, out long value)
    {
        value = 0;
        if (!rest.StartsWith(separator) || !Utf8Parser.TryParse(rest[separator.Length..], out value, out int consumed))
        {
            return false;
        }

        rest = rest[(separator.Length + consumed)..];
        return true;
    }

    private static void ReadProbe(ref Utf8JsonReader reader, ref Envelope envelope)
    {
        int found = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int member = reader.ValueTextEquals("p"u8) ? 1 : reader.ValueTextEquals("c"u8) ? 2 : reader.ValueTextEquals("t"u8) ? 3 : 0;
            reader.Read();
            if (member != 0 && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long value))
            {
                switch (member)
                {
                    case 1: envelope.Publisher = value; break;
                    case 2: envelope.Counter = value; break;
                    default: envelope.Timestamp = value; break;
                }

                found++;
            }
            else
            {
                reader.Skip();
            }
        }

        envelope.HasProbe = found == 3;
    }
}
