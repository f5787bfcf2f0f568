namespace ConnMsg.Load.Scenarios;

/// <summary>Where reports go when <c>--out</c> is not given.</summary>
public static class ReportPaths
{
    /// <summary>
    /// <c>load/reports</c> of the repository that contains the working directory or the driver's binaries;
    /// the working directory's <c>load/reports</c> when no repository is found.
    /// </summary>
    public static string DefaultRoot()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
            {
                if (Directory.Exists(Path.Combine(dir.FullName, "load", "ConnMsg.Load")))
                {
                    return Path.Combine(dir.FullName, "load", "reports");
                }
            }
        }

        return Path.Combine(Directory.GetCurrentDirectory(), "load", "reports");
    }

    /// <summary>The repository root as found by <see cref="DefaultRoot"/>.</summary>
    public static string RepositoryRoot() => Path.GetFullPath(Path.Combine(DefaultRoot(), "..", ".."));
}
