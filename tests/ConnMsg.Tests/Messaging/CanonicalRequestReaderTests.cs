using System.Text;
using ConnMsg.Testing;
using System.Text.Unicode;
using ConnMsg.Messaging;

namespace ConnMsg.Tests.Messaging;

/// <summary>
/// The byte-matching shortcut for requests in the usual shape must never change what a message means: whatever it
/// accepts, the general reader accepts with the same envelope, and whatever it declines, the general reader decides.
/// </summary>
public sealed class CanonicalRequestReaderTests
{
    [Theory]
    [InlineData("""{"type":"req","id":42,"op":"orders.get","data":{"orderId":"A-1001","fields":["status","total"]}}""")]
    [InlineData("""{"type":"req","id":"abc-1","op":"echo","data":"xxxxxxxx"}""")]
    [InlineData("""{"type":"req","id":0,"op":"echo"}""")]
    [InlineData("""{"type":"req","id":9007199254740991,"op":"$subscribe","data":{"topic":"a/b"}}""")]
    [InlineData("""{"type":"req","id":7,"op":"echo","data":[]}""")]
    [InlineData("""{"type":"req","id":7,"op":"echo","data":{}}""")]
    [InlineData("""{"type":"req","id":7,"op":"echo","data":-0.5e+10}""")]
    [InlineData("""{"type":"req","id":7,"op":"echo","data":[true,false,null,0,-1,2.25,3E2,"s",{"k":[[]]}]}""")]
    [InlineData("""{"type":"req","id":7,"op":"echo","data": { "a" : [ 1 , 2 ] , "b" : "c" }}""")]
    [InlineData("{\"type\":\"req\",\"id\":7,\"op\":\"echo\",\"data\":\t\r\n[1]}")]
    [InlineData("{\"type\":\"req\",\"id\":7,\"op\":\"echo\",\"data\":{\"name\":\"Grüße, 日本語 😀\"}}")]
    [InlineData("{\"type\":\"req\",\"id\":7,\"op\":\"echo\",\"data\":\"\u007f\u0085\u2028\ufeff\"}")]
    public void TheUsualShapeIsReadByTheShortcutAsTheGeneralReaderReadsIt(string message)
    {
        byte[] json = Encoding.UTF8.GetBytes(message);

        Assert.True(CanonicalRequestReader.TryRead(json, validUtf8: true, out Envelope shortcut));
        Assert.True(EnvelopeReader.TryReadGeneral(json, out Envelope general, out string? error), error);
        Assert.Equal(general, shortcut);
    }

    [Theory]
    // Valid, but not the usual shape: the general reader reads them.
    [InlineData("""{"id":1,"type":"req","op":"echo"}""")]
    [InlineData("""{ "type":"req","id":1,"op":"echo"}""")]
    [InlineData("""{"type":"req","id":1,"op":"echo","data":"caf\u00e9"}""")]
    [InlineData("{\"type\":\"req\",\"id\":\"café\",\"op\":\"echo\"}")]
    [InlineData("""{"type":"req","id":"\u0041","op":"echo"}""")]
    [InlineData("""{"type":"req","id":1,"op":"echo","data":1,"x":2}""")]
    [InlineData("""{"type":"req","id":1,"op":"echo","data":1 }""")]
    [InlineData("""{"type":"cfm","id":1,"data":1}""")]
    // Invalid: declined here, refused there.
    [InlineData("""{"type":"req","id":01,"op":"echo"}""")]
    [InlineData("""{"type":"req","id":-1,"op":"echo"}""")]
    [InlineData("""{"type":"req","id":1.0,"op":"echo"}""")]
    [InlineData("""{"type":"req","id":9007199254740992,"op":"echo"}""")]
    [InlineData("""{"type":"req","id":12345678901234567,"op":"echo"}""")]
    [InlineData("""{"type":"req","id":"","op":"echo"}""")]
    [InlineData("""{"type":"req","id":"12345678901234567890123456789012345678901234567890123456789012345","op":"echo"}""")]
    [InlineData("""{"type":"req","id":1,"op":"ec ho"}""")]
    [InlineData("""{"type":"req","id":1,"op":""}""")]
    [InlineData("""{"type":"req","id":1,"op":"$"}""")]
    [InlineData("""{"type":"req","id":1,"op":"echo","data":01}""")]
    [InlineData("""{"type":"req","id":1,"op":"echo","data":[1,]}""")]
    [InlineData("""{"type":"req","id":1,"op":"echo","data":{"a":1,}}""")]
    [InlineData("""{"type":"req","id":1,"op":"echo","data":{"a"}}""")]
    [InlineData("""{"type":"req","id":1,"op":"echo","data":tru}""")]
    [InlineData("""{"type":"req","id":1,"op":"echo","data":truex}""")]
    [InlineData("""{"type":"req","id":1,"op":"echo","data":1.}""")]
    [InlineData("""{"type":"req","id":1,"op":"echo","data":1e}""")]
    [InlineData("""{"type":"req","id":1,"op":"echo","data":-}""")]
    [InlineData("""{"type":"req","id":1,"op":"echo","data":"a]}""")]
    [InlineData("""{"type":"req","id":1,"op":"echo","data":[1}}""")]
    [InlineData("""{"type":"req","id":1,"op":"echo","data":}""")]
    [InlineData("""{"type":"req","id":1,"op":"echo","data":1}x""")]
    [InlineData("""{"type":"req","id":1,"op":"echo","data":1""")]
    [InlineData("""{"type":"req","id":1,"op":"echo""")]
    public void AnythingElseIsLeftToTheGeneralReader(string message)
    {
        byte[] json = Encoding.UTF8.GetBytes(message);

        Assert.False(CanonicalRequestReader.TryRead(json, validUtf8: true, out _));
        AssertSameMeaning(json);
    }

    [Fact]
    public void NonAsciiTextIsReadByTheShortcutOnlyWhenTheCallerVouchesForItsUtf8()
    {
        byte[] json = Encoding.UTF8.GetBytes("{\"type\":\"req\",\"id\":1,\"op\":\"echo\",\"data\":\"café\"}");

        Assert.True(CanonicalRequestReader.TryRead(json, validUtf8: true, out _));
        Assert.False(CanonicalRequestReader.TryRead(json, validUtf8: false, out _));
        AssertSameMeaning(json);
    }

    [Theory]
    [InlineData(PlainJsonScanner.MaxDepth, true)]
    [InlineData(PlainJsonScanner.MaxDepth + 1, false)]
    [InlineData(62, false)]
    public void NestingBeyondTheShortcutsDepthIsLeftToTheGeneralReader(int depth, bool shortcut)
    {
        string data = new string('[', depth) + new string(']', depth);
        byte[] json = Encoding.UTF8.GetBytes($$"""{"type":"req","id":1,"op":"echo","data":{{data}}}""");

        Assert.Equal(shortcut, CanonicalRequestReader.TryRead(json, validUtf8: true, out _));
        Assert.True(EnvelopeReader.TryRead(json, validUtf8: true, out _, out string? error), error);
        AssertSameMeaning(json);
    }

    [Fact]
    public void RandomRequestsAndTheirCorruptionsMeanTheSameWithOrWithoutTheShortcut()
    {
        var random = new Random(20261130);
        int viaShortcut = 0, refused = 0;
        for (int n = 0; n < 20_000; n++)
        {
            byte[] json = Encoding.UTF8.GetBytes(RandomRequest(random));
            if (n % 2 == 1)
            {
                json = JsonCorruption.OneByte(json, random);
            }

            if (CanonicalRequestReader.TryRead(json, Utf8.IsValid(json), out _))
            {
                viaShortcut++;
            }

            if (!EnvelopeReader.TryReadGeneral(json, out _, out _))
            {
                refused++;
            }

            AssertSameMeaning(json);
        }

        // The corpus must exercise both sides, or the comparison proves nothing.
        Assert.InRange(viaShortcut, 5_000, 20_000);
        Assert.InRange(refused, 2_000, 20_000);
    }

    // What the shortcut may assume is only what the transport guarantees: it is told the bytes are UTF-8 only when they are.
    private static void AssertSameMeaning(byte[] json)
    {
        bool validUtf8 = Utf8.IsValid(json);
        bool generalOk = EnvelopeReader.TryReadGeneral(json, out Envelope general, out string? generalError);
        bool ok = EnvelopeReader.TryRead(json, validUtf8, out Envelope envelope, out string? error);
        string text = Encoding.UTF8.GetString(json);
        Assert.True(generalOk == ok, $"{text}: general {generalOk} ({generalError}), with shortcut {ok} ({error})");
        Assert.True(general.Equals(envelope), $"{text}: the envelopes differ");
        Assert.Equal(generalError, error);
        if (CanonicalRequestReader.TryRead(json, validUtf8, out Envelope shortcut))
        {
            Assert.True(generalOk, $"{text}: the shortcut accepted what the general reader refuses ({generalError})");
            Assert.True(general.Equals(shortcut), $"{text}: the shortcut's envelope differs");
        }
    }

    private static string RandomRequest(Random random)
    {
        string id = random.Next(6) switch
        {
            0 => "\"" + new string('k', random.Next(0, 70)) + "\"",
            1 => (9007199254740990L + random.Next(4)).ToString(System.Globalization.CultureInfo.InvariantCulture),
            2 => "0" + random.Next(10),
            _ => random.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        string op = random.Next(8) == 0 ? "$subscribe" : "orders.get";
        return random.Next(5) == 0
            ? $$"""{"type":"req","id":{{id}},"op":"{{op}}"}"""
            : $$"""{"type":"req","id":{{id}},"op":"{{op}}","data":{{RandomValue(random, 0)}}}""";
    }

    private static string RandomValue(Random random, int depth)
    {
        string ws = random.Next(6) == 0 ? " \n" : "";
        switch (random.Next(depth > 5 ? 5 : 8))
        {
            case 0: return ws + random.Next(-1000, 1000) + ws;
            case 1: return Pick(random, "0.5", "-0", "1e5", "2E-3", "-12.75e+2", "0.0");
            case 2: return Pick(random, "true", "false", "null");
            case 3: return "\"" + Pick(random, "plain text", "tab\\tescaped", "caf\u00e9", "\\u0041", "", "emoji \ud83d\ude00") + "\"";
            case 4: return "\"" + new string('x', random.Next(0, 40)) + "\"";
            case 5:
            case 6:
                var items = Enumerable.Range(0, random.Next(4)).Select(_ => RandomValue(random, depth + 1));
                return ws + "[" + ws + string.Join("," + ws, items) + "]" + ws;
            default:
                var members = Enumerable.Range(0, random.Next(4)).Select(k => $"\"m{k}\"{ws}:{RandomValue(random, depth + 1)}");
                return "{" + string.Join(",", members) + ws + "}";
        }
    }

    private static string Pick(Random random, params string[] choices) => choices[random.Next(choices.Length)];
}
