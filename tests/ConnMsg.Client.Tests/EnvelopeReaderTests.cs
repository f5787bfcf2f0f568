using System.Text;
using ConnMsg.Client.Internal;

namespace ConnMsg.Client.Tests;

/// <summary>The inbound envelope parser (PROTOCOL §3), without sockets.</summary>
public sealed class EnvelopeReaderTests
{
    private static bool Read(string json, out MessageKind kind, out string rawId, out long? intId, out string data, out string topic, out long? seq, out string? code, out string? reason, out string? op, out string? error)
    {
        char[] topicBuffer = new char[EnvelopeReader.MaxTopicChars];
        bool ok = EnvelopeReader.TryRead(Encoding.UTF8.GetBytes(json), topicBuffer, out var envelope, out error);
        kind = envelope.Kind;
        rawId = Encoding.UTF8.GetString(envelope.RawId);
        intId = envelope.IntegerId;
        data = Encoding.UTF8.GetString(envelope.Data);
        topic = new string(topicBuffer, 0, envelope.TopicLength);
        seq = envelope.Seq;
        code = envelope.Code;
        reason = envelope.Reason;
        op = envelope.Op;
        return ok;
    }

    [Fact]
    public void CfmKeepsDataAsTheExactRawSlice()
    {
        Assert.True(Read("""{"type":"cfm","id":7,"data":{"orderId":"o-19","n":[1, 2]}}""", out var kind, out var rawId, out var id, out var data, out _, out _, out _, out _, out _, out _));
        Assert.Equal(MessageKind.Cfm, kind);
        Assert.Equal("7", rawId);
        Assert.Equal(7, id);
        Assert.Equal("""{"orderId":"o-19","n":[1, 2]}""", data);
    }

    [Fact]
    public void MembersInAnyOrderAndUnknownMembersAreIgnored()
    {
        Assert.True(Read("""{"future":{"a":[1,{"b":2}]},"data":"x","id":3,"type":"cfm","more":null}""", out var kind, out _, out var id, out var data, out _, out _, out _, out _, out _, out _));
        Assert.Equal(MessageKind.Cfm, kind);
        Assert.Equal(3, id);
        Assert.Equal("\"x\"", data);
    }

    [Fact]
    public void StringIdIsKeptVerbatimWithQuotes()
    {
        Assert.True(Read("""{"type":"req","id":"a\"b","op":"x"}""", out _, out var rawId, out var id, out _, out _, out _, out _, out _, out var op, out _));
        Assert.Equal("\"a\\\"b\"", rawId);
        Assert.Null(id);
        Assert.Equal("x", op);
    }

    [Fact]
    public void IndReadsTopicIncludingEscapesAndSeq()
    {
        Assert.True(Read("""{"type":"ind","topic":"history.\u0041","seq":12,"data":null}""", out var kind, out _, out _, out var data, out var topic, out var seq, out _, out _, out _, out _));
        Assert.Equal(MessageKind.Ind, kind);
        Assert.Equal("history.A", topic);
        Assert.Equal(12, seq);
        Assert.Equal("null", data);
    }

    [Fact]
    public void RejReadsCodeAndReason()
    {
        Assert.True(Read("""{"type":"rej","id":7,"code":"invalid_argument","reason":"qty must be > 0"}""", out var kind, out _, out _, out _, out _, out _, out var code, out var reason, out _, out _));
        Assert.Equal(MessageKind.Rej, kind);
        Assert.Equal("invalid_argument", code);
        Assert.Equal("qty must be > 0", reason);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("""{"type":"cfm","id":1""")]
    [InlineData("""{"type":"cfm","id":1} trailing""")]
    [InlineData("""{"id":1,"data":2}""")]
    [InlineData("""{"type":"nope","id":1}""")]
    [InlineData("""{"type":"cfm"}""")]
    [InlineData("""{"type":"rej","id":1}""")]
    [InlineData("""{"type":"req","id":1}""")]
    [InlineData("""{"type":"ind","data":1}""")]
    [InlineData("""{"type":"ind","topic":"t","seq":"x"}""")]
    public void ViolationsAreReportedAsValues(string json)
    {
        Assert.False(Read(json, out _, out _, out _, out _, out _, out _, out _, out _, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void RequestWithBadIdTypeIsStillRecognisedAsARequest()
    {
        // So the client can answer bad_message (with id null) rather than stay silent.
        Assert.False(Read("""{"type":"req","id":{"x":1},"op":"a"}""", out var kind, out var rawId, out _, out _, out _, out _, out _, out _, out _, out _));
        Assert.Equal(MessageKind.Req, kind);
        Assert.Equal("", rawId);
    }

    // A lone surrogate escape (RFC 8259 allows one; JSON.stringify writes one) is no text: Utf8JsonReader's
    // ValueTextEquals, GetString and CopyString throw on it. A hostile or buggy server's message with one is read as a
    // value, the rest of the message still read.

    [Fact]
    public void MemberNameWithALoneSurrogateIsAnUnknownMember()
    {
        Assert.True(Read("""{"type":"ind","\ud800":1,"topic":"t","seq":2}""", out var kind, out _, out _, out _, out var topic, out var seq, out _, out _, out _, out _));
        Assert.Equal(MessageKind.Ind, kind);
        Assert.Equal("t", topic);
        Assert.Equal(2, seq);
    }

    [Theory]
    [InlineData("""{"type":"\ud800","id":1}""", "unknown type")]
    [InlineData("""{"type":"ind","topic":"a\ud800","seq":1}""", "topic is not text")]
    [InlineData("""{"type":"ind","topic":"\udc00a","seq":1}""", "topic is not text")]
    public void LoneSurrogateInTypeOrTopicIsAViolation(string json, string expected)
    {
        Assert.False(Read(json, out _, out _, out _, out _, out _, out _, out _, out _, out _, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void RejWithALoneSurrogateInItsCodeIsAViolationThatStillNamesItsRequest()
    {
        // The id comes after the code: it is read all the same, so the request can be failed rather than wait it out.
        Assert.False(Read("""{"type":"rej","code":"\ud800","id":3}""", out var kind, out _, out var id, out _, out _, out _, out _, out _, out _, out var error));
        Assert.Equal(MessageKind.Rej, kind);
        Assert.Equal(3, id);
        Assert.Equal("code is not text", error);
    }

    [Fact]
    public void RequestWithALoneSurrogateInItsOpIsAViolationThatStillKeepsItsId()
    {
        Assert.False(Read("""{"type":"req","op":"\udfff","id":"r1"}""", out var kind, out var rawId, out _, out _, out _, out _, out _, out _, out _, out var error));
        Assert.Equal(MessageKind.Req, kind);
        Assert.Equal("\"r1\"", rawId);
        Assert.Equal("op is not text", error);
    }

    [Fact]
    public void RejReasonWithALoneSurrogateReadsItAsTheReplacementCharacter()
    {
        // The reason is text for people only: the rej still answers its request.
        Assert.True(Read("""{"type":"rej","id":4,"code":"x","reason":"a\ud800b\ud83d\ude00"}""", out _, out _, out var id, out _, out _, out _, out var code, out var reason, out _, out _));
        Assert.Equal(4, id);
        Assert.Equal("x", code);
        Assert.Equal("a\uFFFDb\U0001F600", reason);
    }

    [Fact]
    public void StringIdWithALoneSurrogateIsKeptVerbatim()
    {
        Assert.True(Read("""{"type":"req","id":"\ud800","op":"x"}""", out _, out var rawId, out _, out _, out _, out _, out _, out _, out _, out _));
        Assert.Equal("\"\\ud800\"", rawId);
    }
}
