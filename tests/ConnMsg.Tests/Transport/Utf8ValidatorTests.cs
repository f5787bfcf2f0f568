using System.Text;
using ConnMsg.WebSockets;

namespace ConnMsg.Tests.Transport;

/// <summary>Incremental UTF-8 validation (RFC 6455 §8.1) with state carried across pieces, failing fast.</summary>
public class Utf8ValidatorTests
{
    // 1-, 2-, 3- and 4-byte code points, including the edges of each length and of the Unicode range.
    private static readonly byte[] Valid = Encoding.UTF8.GetBytes("a\u007F\u0080\u00A2\u07FF\u0800\u20AC\uD7FF\uE000\uFFFD\uFFFF\U00010000\U0001F600\U0010FFFFz");

    private static bool Validate(IEnumerable<byte[]> pieces, out int failedPiece)
    {
        var validator = new Utf8Validator();
        validator.Reset();
        byte[][] all = pieces.ToArray();
        for (int i = 0; i < all.Length; i++)
        {
            if (!validator.TryValidate(all[i], endOfMessage: i == all.Length - 1))
            {
                failedPiece = i;
                return false;
            }
        }

        failedPiece = -1;
        return true;
    }

    private static IEnumerable<byte[]> Cut(byte[] data, params int[] cuts)
    {
        int start = 0;
        foreach (int cut in cuts.Append(data.Length))
        {
            yield return data[start..cut];
            start = cut;
        }
    }

    [Fact]
    public void ValidTextWholePasses()
    {
        Assert.True(Utf8Reference.IsValid(Valid));
        Assert.True(Validate([Valid], out _));
    }

    [Fact]
    public void ValidTextSplitInTwoAtEveryBytePositionPasses()
    {
        for (int cut = 0; cut <= Valid.Length; cut++)
        {
            Assert.True(Validate(Cut(Valid, cut), out int failed), $"cut at {cut} failed on piece {failed}");
        }
    }

    [Fact]
    public void ValidTextSplitInThreeAtEveryPairOfPositionsPasses()
    {
        // Covers a 3- or 4-byte code point spread over three pieces, with a one-byte piece in the middle.
        for (int a = 0; a <= Valid.Length; a++)
        {
            for (int b = a; b <= Valid.Length; b++)
            {
                Assert.True(Validate(Cut(Valid, a, b), out int failed), $"cuts {a},{b} failed on piece {failed}");
            }
        }
    }

    [Fact]
    public void ValidTextOneBytePerPiecePasses()
    {
        Assert.True(Validate(Valid.Select(b => new[] { b }), out int failed), $"failed on byte {failed}");
    }

    [Fact]
    public void EmptyPiecesBetweenBytesOfACodePointPass()
    {
        byte[] euro = Encoding.UTF8.GetBytes("\U0001F600");
        Assert.True(Validate([[euro[0]], [], [euro[1], euro[2]], [], [euro[3]], []], out _));
    }

    public static TheoryData<string, byte[]> Invalid => new()
    {
        { "overlong 2-byte '/'", [0xC0, 0xAF] },
        { "overlong 2-byte NUL", [0xC1, 0x80] },
        { "overlong 3-byte", [0xE0, 0x80, 0xAF] },
        { "overlong 4-byte", [0xF0, 0x80, 0x80, 0xAF] },
        { "surrogate D800", [0xED, 0xA0, 0x80] },
        { "surrogate DFFF", [0xED, 0xBF, 0xBF] },
        { "above U+10FFFF", [0xF4, 0x90, 0x80, 0x80] },
        { "lead F5", [0xF5, 0x80, 0x80, 0x80] },
        { "byte FF", [0xFF] },
        { "stray continuation", [0x80] },
        { "continuation after ASCII", [(byte)'a', 0xBF] },
        { "lead followed by ASCII", [0xE2, (byte)'a'] },
        { "truncated 2-byte at end", [0xC2] },
        { "truncated 3-byte at end", [0xE2, 0x82] },
        { "truncated 4-byte at end", [0xF0, 0x9F, 0x98] },
        { "too many continuations", [0xC2, 0xA2, 0xA2] },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void InvalidSequenceFailsWholeAndAtEverySplit(string name, byte[] bad)
    {
        byte[] text = [.. "ok "u8, .. bad];
        Assert.False(Utf8Reference.IsValid(text), name);
        Assert.False(Validate([text], out _), name);
        for (int cut = 0; cut <= text.Length; cut++)
        {
            Assert.False(Validate(Cut(text, cut), out _), $"{name}: cut at {cut}");
        }

        Assert.False(Validate(text.Select(b => new[] { b }), out _), name + ": byte by byte");
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void InvalidSequenceFailsOnThePieceWhereItBecomesInvalid(string name, byte[] bad)
    {
        // Followed by more text and never the end of the message: only fail-fast can catch it.
        byte[] text = [.. "ok "u8, .. bad, .. "more text"u8];
        int firstBad = Utf8Reference.FirstInvalidByte(text, out _);
        Assert.True(firstBad >= 0, name);
        var validator = new Utf8Validator();
        for (int i = 0; i < text.Length; i++)
        {
            bool ok = validator.TryValidate(text.AsSpan(i, 1), endOfMessage: false);
            Assert.True(ok == i < firstBad, $"{name}: byte {i} returned {ok}, first invalid byte is {firstBad}");
            if (!ok)
            {
                break;
            }
        }
    }

    [Fact]
    public void InvalidPrefixFailsOnItsOwnPieceBeforeTheMessageEnds()
    {
        var validator = new Utf8Validator();
        Assert.True(validator.TryValidate("{\"a\":\""u8, endOfMessage: false));
        Assert.False(validator.TryValidate([0xCE, 0xBA, 0xED, 0xA0, 0x80, 0x41], endOfMessage: false));
    }

    [Fact]
    public void CodePointInvalidatedByTheNextPieceFailsOnThatPiece()
    {
        var validator = new Utf8Validator();
        Assert.True(validator.TryValidate([0x41, 0xF4], endOfMessage: false));
        Assert.False(validator.TryValidate([0x90, 0x80, 0x80], endOfMessage: false)); // F4 90.. is above U+10FFFF
    }

    [Fact]
    public void ResetForgetsACarriedPartialCodePoint()
    {
        var validator = new Utf8Validator();
        Assert.True(validator.TryValidate([0xE2, 0x82], endOfMessage: false));
        validator.Reset();
        Assert.True(validator.TryValidate("plain"u8, endOfMessage: true));
    }

    [Fact]
    public void RandomInputSplitRandomlyAgreesWithTheReference()
    {
        var random = new Random(6455);
        byte[] alphabet = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF];
        for (int run = 0; run < 5000; run++)
        {
            var text = new byte[random.Next(0, 12)];
            for (int i = 0; i < text.Length; i++)
            {
                text[i] = alphabet[random.Next(alphabet.Length)];
            }

            int firstBad = Utf8Reference.FirstInvalidByte(text, out bool complete);
            var cuts = Enumerable.Range(1, Math.Max(0, text.Length - 1)).Where(_ => random.Next(3) == 0).ToArray();
            var pieces = Cut(text, cuts).ToArray();
            bool ok = Validate(pieces, out int failedPiece);
            Assert.True(ok == (firstBad < 0 && complete), $"run {run}: {Convert.ToHexString(text)} cuts [{string.Join(",", cuts)}]");
            if (firstBad >= 0)
            {
                // Fail-fast: the failing piece is the one holding the first invalid byte.
                int pieceOfBad = 0, seen = 0;
                while (seen + pieces[pieceOfBad].Length <= firstBad)
                {
                    seen += pieces[pieceOfBad].Length;
                    pieceOfBad++;
                }

                Assert.True(failedPiece == pieceOfBad, $"run {run}: {Convert.ToHexString(text)} cuts [{string.Join(",", cuts)}] failed on piece {failedPiece}, first bad byte in piece {pieceOfBad}");
            }
        }
    }
}
