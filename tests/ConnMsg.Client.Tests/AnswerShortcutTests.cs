using System.Text;
using ConnMsg.Testing;
using ConnMsg.Client.Internal;

namespace ConnMsg.Client.Tests;

/// <summary>
/// Answers in the usual shape, <c>{"type":"cfm","id":N,"data":…}</c>, are read without the JSON reader; that must
/// never change what a message means: the envelope and error are those of the general reader for every input.
/// </summary>
public sealed class AnswerShortcutTests
{
    [Theory]
    [InlineData("""{"type":"cfm","id":7,"data":{"orderId":"o-19","n":[1, 2]}}""", true)]
    [InlineData("""{"type":"cfm","id":0}""", true)]
    [InlineData("""{"type":"cfm","id":42,"data": null}""", true)]
    [InlineData("""{"type":"cfm","id":"s-1","data":1}""", false)]
    [InlineData("""{"type":"cfm","id":1,"data":"tab\tescaped"}""", false)]
    [InlineData("""{"id":1,"type":"cfm","data":1}""", false)]
    public void OnlyTheUsualShapeTakesTheShortcut(string message, bool shortcut) =>
        Assert.Equal(shortcut, EnvelopeReader.TryReadCanonicalCfm(Encoding.UTF8.GetBytes(message), out _));

    [Theory]
    [InlineData("""{"type":"cfm","id":7,"data":{"orderId":"o-19","n":[1, 2]}}""")]
    [InlineData("""{"type":"cfm","id":0}""")]
    [InlineData("""{"type":"cfm","id":123456789012345678,"data":"xxxxxxxx"}""")]
    [InlineData("""{"type":"cfm","id":42,"data": null}""")]
    [InlineData("""{"type":"cfm","id":42,"data":-1.5e3}""")]
    [InlineData("""{"type":"cfm","id":1234567890123456789,"data":1}""")]
    [InlineData("""{"type":"cfm","id":"s-1","data":1}""")]
    [InlineData("""{"type":"cfm","id":01,"data":1}""")]
    [InlineData("""{"type":"cfm","id":1,"data":"tab\tescaped"}""")]
    [InlineData("""{"type":"cfm","id":1,"data":[1,]}""")]
    [InlineData("""{"type":"cfm","id":1,"data":1 }""")]
    [InlineData("""{"id":1,"type":"cfm","data":1}""")]
    [InlineData("""{"type":"cfm","id":1,"data":1,"x":2}""")]
    [InlineData("""{"type":"cfm","id":1,"data":1}}""")]
    [InlineData("""{"type":"cfm","id":1,"data":""")]
    public void AnAnswerMeansTheSameWithOrWithoutTheShortcut(string message) => AssertSameMeaning(Encoding.UTF8.GetBytes(message));

    [Fact]
    public void RandomAnswersAndTheirCorruptionsMeanTheSameWithOrWithoutTheShortcut()
    {
        var random = new Random(20261130);
        int refused = 0;
        for (int n = 0; n < 20_000; n++)
        {
            string data = Pick(random, "", ",\"data\":\"" + new string('x', random.Next(40)) + "\"", ",\"data\":{\"a\":[1,2.5,true,null],\"b\":{}}",
                ",\"data\": [ \"caf\u00e9\" ]", ",\"data\":\"\\u0041\"", ",\"data\":-0.25E+2");
            string id = Pick(random, random.Next().ToString(System.Globalization.CultureInfo.InvariantCulture), "0", "00", "9223372036854775807", "99999999999999999999", "\"s\"");
            byte[] json = Encoding.UTF8.GetBytes($$"""{"type":"cfm","id":{{id}}{{data}}}""");
            if (n % 2 == 1)
            {
                json = JsonCorruption.OneByte(json, random);
            }

            if (!AssertSameMeaning(json))
            {
                refused++;
            }
        }

        // Both sides must be exercised, or the comparison proves nothing.
        Assert.InRange(refused, 2_000, 12_000);
    }

    private static bool AssertSameMeaning(byte[] json)
    {
        char[] generalTopic = new char[EnvelopeReader.MaxTopicChars];
        char[] topic = new char[EnvelopeReader.MaxTopicChars];
        bool generalOk = EnvelopeReader.TryReadGeneral(json, generalTopic, out Envelope general, out string? generalError);
        bool ok = EnvelopeReader.TryRead(json, topic, out Envelope envelope, out string? error);
        string text = Encoding.UTF8.GetString(json);

        Assert.True(generalOk == ok, $"{text}: general {generalOk} ({generalError}), with shortcut {ok} ({error})");
        Assert.Equal(generalError, error);
        Assert.Equal(general.Kind, envelope.Kind);
        Assert.True(general.RawId.SequenceEqual(envelope.RawId), $"{text}: raw ids differ");
        Assert.Equal(general.IntegerId, envelope.IntegerId);
        Assert.True(general.Data.SequenceEqual(envelope.Data), $"{text}: data differ");
        Assert.Equal(general.Op, envelope.Op);
        Assert.Equal(general.HasTopic, envelope.HasTopic);
        Assert.Equal(new string(generalTopic, 0, general.TopicLength), new string(topic, 0, envelope.TopicLength));
        Assert.Equal(general.Seq, envelope.Seq);
        Assert.Equal(general.Code, envelope.Code);
        Assert.Equal(general.Reason, envelope.Reason);
        return generalOk;
    }

    private static string Pick(Random random, params string[] choices) => choices[random.Next(choices.Length)];
}
