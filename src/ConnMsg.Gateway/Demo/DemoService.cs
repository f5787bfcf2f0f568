using System.Globalization;
using System.Text.Json;
using ConnMsg.Hosting;
using ConnMsg.Messaging;

namespace ConnMsg.Gateway.Demo;

/// <summary>The demo operations of PROTOCOL.md Appendix A.</summary>
public static class DemoService
{
    /// <summary>Maps echo, time, sleep, fail, publish and whoami; with <paramref name="serverRequests"/>, also <c>demo.ask</c>.</summary>
    public static void Map(ConnMsgBuilder connmsg, bool serverRequests = false)
    {
        // echo: the request's data, byte for byte, without parsing it again.
        connmsg.MapRequest("echo", static request =>
        {
            request.Confirm(request.HasData ? request.Data.Span : default);
            return default;
        });

        connmsg.MapRequest("time", DemoJsonContext.Default.JsonElement, DemoJsonContext.Default.TimeResult,
            static (_, _, _) => ValueTask.FromResult(new TimeResult(DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture))));

        connmsg.MapRequest("sleep", DemoJsonContext.Default.SleepArgs, DemoJsonContext.Default.SleepResult, static async (args, _, ct) =>
        {
            if (args?.Ms is not int ms || ms < 0 || ms > 60_000)
            {
                throw new ConnMsgRejectException(RejectCodes.InvalidArgument, "ms must be an integer 0..60000");
            }

            await Task.Delay(ms, ct).ConfigureAwait(false);
            return new SleepResult(ms);
        });

        connmsg.MapRequest("fail", static request =>
        {
            FailArgs? args = request.ReadData(DemoJsonContext.Default.FailArgs);
            if (args?.Code is not { } code || !IsSnakeCase(code))
            {
                throw new ConnMsgRejectException(RejectCodes.InvalidArgument, "code must be a snake_case string");
            }

            request.Reject(code, args.Reason);
            return default;
        });

        connmsg.MapRequest("publish", static request =>
        {
            if (!TryReadPublish(request.Data.Span, out string? topic, out Range data))
            {
                throw new ConnMsgRejectException(RejectCodes.InvalidArgument, "data must be {\"topic\":\"<topic>\",\"data\":<any>}");
            }

            IIndPublisher publisher = request.Connection.Services.GetRequiredService<IIndPublisher>();
            ValueTask<int> published = publisher.PublishAsync(topic!, data.End.Value == 0 ? default : request.Data[data]);
            if (!published.IsCompletedSuccessfully)
            {
                // Only outside a read batch: the publish asks its caller to let backlogged subscribers' writes go first.
                return ConfirmWhenPublishedAsync(request, published);
            }

            request.Confirm(new PublishResult(published.Result), DemoJsonContext.Default.PublishResult);
            return default;
        });

        connmsg.MapRequest("whoami", static request =>
        {
            ConnMsgConnection c = request.Connection;
            request.Confirm(new WhoAmIResult(c.Id, c.Subscriptions), DemoJsonContext.Default.WhoAmIResult);
            return default;
        });

        if (serverRequests)
        {
            // demo.ask {"op":"<op>","data":<any>}: the server asks the client, and answers with the client's cfm data.
            connmsg.MapRequest("demo.ask", static async request =>
            {
                using JsonDocument doc = JsonDocument.Parse(request.Data);
                if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("op", out JsonElement op) || op.ValueKind != JsonValueKind.String)
                {
                    throw new ConnMsgRejectException(RejectCodes.InvalidArgument, "data must be {\"op\":\"<op>\",\"data\":<any>}");
                }

                // A lone surrogate escape is no text (GetString would throw on it), so no op; nor is a string that breaks
                // the name rule, which RequestAsync refuses with ArgumentException. Either is the caller's mistake.
                const string NoOp = "op must be 1..128 characters of A-Z a-z 0-9 . _ - : /";
                if (JsonEscapes.IndexOfLoneSurrogate(System.Text.Encoding.UTF8.GetBytes(op.GetRawText())) >= 0)
                {
                    throw new ConnMsgRejectException(RejectCodes.InvalidArgument, NoOp);
                }

                byte[] payload = doc.RootElement.TryGetProperty("data", out JsonElement d) ? JsonSerializer.SerializeToUtf8Bytes(d, DemoJsonContext.Default.JsonElement) : [];
                byte[] answer;
                try
                {
                    answer = await request.Connection.RequestAsync(op.GetString()!, payload, request.Aborted).ConfigureAwait(false);
                }
                catch (ArgumentException e) when (e.ParamName == "op")
                {
                    throw new ConnMsgRejectException(RejectCodes.InvalidArgument, NoOp);
                }

                request.Confirm(answer);
            });
        }
    }

    private static async ValueTask ConfirmWhenPublishedAsync(ConnMsgRequest request, ValueTask<int> published) =>
        request.Confirm(new PublishResult(await published.ConfigureAwait(false)), DemoJsonContext.Default.PublishResult);

    private static bool TryReadPublish(ReadOnlySpan<byte> json, out string? topic, out Range data)
    {
        topic = null;
        data = default;
        var reader = new Utf8JsonReader(json);
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            // A lone surrogate escape (valid JSON, but no text) would make ValueTextEquals and GetString throw: such a
            // name is no member of ours, and such a topic is no topic.
            if (JsonEscapes.HasLoneSurrogate(ref reader))
            {
                reader.Read();
                reader.Skip();
            }
            else if (reader.ValueTextEquals("topic"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String || JsonEscapes.HasLoneSurrogate(ref reader))
                {
                    return false;
                }

                topic = reader.GetString();
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                int start = (int)reader.TokenStartIndex;
                reader.Skip();
                data = new Range(start, (int)reader.BytesConsumed);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return topic is { Length: > 0 and <= 256 } && topic[0] != '$' && IsName(topic);
    }

    private static bool IsName(string s)
    {
        foreach (char c in s)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':' or '/'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsSnakeCase(string s)
    {
        if (s.Length is 0 or > 64 || !char.IsAsciiLetterLower(s[0]))
        {
            return false;
        }

        foreach (char c in s)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }
}
