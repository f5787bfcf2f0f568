using System.Text;
using System.Text.Unicode;
using BenchmarkDotNet.Attributes;
using ConnMsg.Bench.Infrastructure;
using ConnMsg.WebSockets;

namespace ConnMsg.Bench.Benchmarks;

/// <summary>Validating a text message's UTF-8 (RFC 6455 §8.1), whole and in pieces. Target: 0 B.</summary>
[MemoryDiagnoser]
public class Utf8ValidationBenchmarks
{
    /// <summary>Pieces of a prime length, so code points straddle piece boundaries as they do across frames and segments.</summary>
    private const int PieceLength = 509;

    private byte[] _text = [];

    [Params("ascii-1KiB", "mixed-1KiB", "mixed-64KiB")]
    public string Text { get; set; } = "ascii-1KiB";

    [GlobalSetup]
    public void Setup()
    {
        _text = Text switch
        {
            "ascii-1KiB" => Payloads.AsciiText(1024),
            "mixed-1KiB" => Payloads.MixedText(1024),
            "mixed-64KiB" => Payloads.MixedText(65536),
            _ => throw new ArgumentOutOfRangeException(nameof(Text)),
        };
        if (!Whole() || !Pieces() || !Utf8IsValid())
        {
            throw new InvalidOperationException("the sample text should be valid");
        }
    }

    [Benchmark(Baseline = true, Description = "Utf8.IsValid")]
    public bool Utf8IsValid() => Utf8.IsValid(_text);

    [Benchmark(Description = "Encoding.UTF8.GetCharCount")]
    public int GetCharCount() => Encoding.UTF8.GetCharCount(_text);

    [Benchmark(Description = "Utf8Validator.TryValidate (whole)")]
    public bool Whole()
    {
        var validator = new Utf8Validator();
        return validator.TryValidate(_text, endOfMessage: true);
    }

    [Benchmark(Description = "Utf8Validator.TryValidate (509 B pieces)")]
    public bool Pieces()
    {
        var validator = new Utf8Validator();
        ReadOnlySpan<byte> rest = _text;
        while (rest.Length > PieceLength)
        {
            if (!validator.TryValidate(rest[..PieceLength], endOfMessage: false))
            {
                return false;
            }

            rest = rest[PieceLength..];
        }

        return validator.TryValidate(rest, endOfMessage: true);
    }
}
