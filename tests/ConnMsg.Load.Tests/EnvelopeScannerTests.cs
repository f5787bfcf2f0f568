using System.Text;
using ConnMsg.Load.Protocol;

namespace ConnMsg.Load.Tests;

/// <summary>
/// The driver's echo fast path takes only the exact compact answer to its own request, and agrees with the full
/// JSON reading on every answer it takes; everything else is left to the full reading.
/// </summary>
public class EnvelopeScannerTests
{
    private static readonly byte[] Data = RequestWriter.MakeStringPayload(8); // "xxxxxx"

    [Theory]
    [InlineData("{\"type\":\"cfm\",\"id\":0,\"data\":\"xxxxxx\"}", 0L)]
    [InlineData("{\"type\":\"cfm\",\"id\":7,\"data\":\"xxxxxx\"}", 7L)]
    [InlineData("{\"type\":\"cfm\",\"id\":9223372036854775807,\"data\":\"xxxxxx\"}", long.MaxValue)]
    public void The_compact_echo_answer_is_read_by_the_fast_path_with_the_id_the_full_reading_finds(string json, long expected)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);

        Assert.True(EnvelopeScanner.TryScanEchoCfm(bytes, Data, out long id));
        Assert.Equal(expected, id);
        Assert.True(EnvelopeScanner.TryScan(bytes, out Envelope full));
        Assert.Equal((EnvelopeKind.Cfm, expected), (full.Kind, full.Id));
    }

    [Theory]
    [InlineData("{\"type\":\"cfm\",\"id\":7,\"data\":\"xxxxxy\"}")]     // other data
    [InlineData("{\"type\":\"cfm\",\"id\":7,\"data\":\"xxxxx\"}")]      // shorter data
    [InlineData("{\"type\":\"cfm\",\"id\":7,\"data\":\"xxxxxx\"} ")]    // trailing space
    [InlineData("{\"type\":\"cfm\", \"id\":7,\"data\":\"xxxxxx\"}")]    // whitespace
    [InlineData("{\"id\":7,\"type\":\"cfm\",\"data\":\"xxxxxx\"}")]     // other member order
    [InlineData("{\"type\":\"rej\",\"id\":7,\"data\":\"xxxxxx\"}")]     // not a cfm
    [InlineData("{\"type\":\"cfm\",\"id\":-7,\"data\":\"xxxxxx\"}")]    // negative
    [InlineData("{\"type\":\"cfm\",\"id\":+7,\"data\":\"xxxxxx\"}")]    // not JSON
    [InlineData("{\"type\":\"cfm\",\"id\":07,\"data\":\"xxxxxx\"}")]    // not JSON
    [InlineData("{\"type\":\"cfm\",\"id\":7.0,\"data\":\"xxxxxx\"}")]   // not an integer
    [InlineData("{\"type\":\"cfm\",\"id\":,\"data\":\"xxxxxx\"}")]      // no id
    [InlineData("{\"type\":\"cfm\",\"id\":\"7\",\"data\":\"xxxxxx\"}")] // a string id
    [InlineData("{\"type\":\"cfm\",\"id\":9223372036854775808,\"data\":\"xxxxxx\"}")] // beyond Int64
    [InlineData("{\"type\":\"cfm\",\"id\":7,\"x\":1,\"data\":\"xxxxxx\"}")] // another member
    [InlineData("{\"type\":\"cfm\",\"id\":7,\"data\":\"xxxxxx\"")]      // cut short
    [InlineData("{\"type\":\"cfm\",\"id\":7}")]
    [InlineData("")]
    public void Anything_but_the_exact_compact_answer_is_left_to_the_full_reading(string json) =>
        Assert.False(EnvelopeScanner.TryScanEchoCfm(Encoding.UTF8.GetBytes(json), Data, out _));
}
