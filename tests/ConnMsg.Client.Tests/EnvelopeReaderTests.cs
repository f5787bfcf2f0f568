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
}
