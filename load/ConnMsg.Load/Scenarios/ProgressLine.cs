namespace ConnMsg.Load.Scenarios;

/// <summary>The live one-line status on stderr: rewritten in place on a terminal, a line every few seconds otherwise.</summary>
public static class ProgressLine
{
    private static int s_lastLength;
    private static int s_calls;

    /// <summary>Shows <paramref name="text"/> as the current status.</summary>
    public static void Update(string text)
    {
        if (Console.IsErrorRedirected)
        {
            // A log file wants lines, not carriage returns; every fifth second keeps it short.
            if (s_calls++ % 5 == 0)
            {
                Console.Error.WriteLine(text);
            }

            return;
        }

        string padded = text.Length < s_lastLength ? text.PadRight(s_lastLength) : text;
        s_lastLength = text.Length;
        Console.Error.Write("\r" + padded);
    }

    /// <summary>Ends the current status line so that the next output starts on a new line.</summary>
    public static void Done(string? text = null)
    {
        if (text is not null)
        {
            Update(text);
        }

        if (!Console.IsErrorRedirected)
        {
            Console.Error.WriteLine();
        }
        else if (text is not null && (s_calls - 1) % 5 != 0)
        {
            Console.Error.WriteLine(text);
        }

        s_lastLength = 0;
        s_calls = 0;
    }
}
