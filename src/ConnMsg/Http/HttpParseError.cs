namespace ConnMsg.Http;

/// <summary>Why a request head could not be parsed.</summary>
internal enum HttpParseError
{
    None,
    RequestLineTooLong,
    HeadTooLarge,
    TooManyHeaders,
    MalformedRequestLine,
    MalformedHeader,
    UnsupportedVersion,
}
