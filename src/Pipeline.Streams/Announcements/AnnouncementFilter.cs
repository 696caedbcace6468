using System.Text.RegularExpressions;
using Pipeline.Actors.Contracts;

namespace Pipeline.Streams.Announcements;

/// <summary>What a filter clause looks at.</summary>
public enum FilterTarget
{
    /// <summary>The relPath (S3 key, URL path) without its leading slash.</summary>
    RelPath,
    /// <summary>The broker topic / routing key; an announcement without a topic never matches.</summary>
    Topic,
    /// <summary>The full location URL, as sr3's own accept/reject see it.</summary>
    Url,
}

/// <summary>One <c>accept</c> or <c>reject</c> line.</summary>
public sealed record FilterClause(bool Accept, string Pattern, FilterTarget Target = FilterTarget.RelPath)
{
    public static FilterClause AcceptOn(string pattern, FilterTarget target = FilterTarget.RelPath) => new(true, pattern, target);
    public static FilterClause RejectOn(string pattern, FilterTarget target = FilterTarget.RelPath) => new(false, pattern, target);
}

/// <summary>The verdict, with the clause that decided (null when <c>acceptUnmatched</c> decided).</summary>
public readonly record struct FilterVerdict(bool Accepted, FilterClause? DecidedBy)
{
    public string Reason => DecidedBy is null
        ? (Accepted ? "no clause matched; acceptUnmatched" : "no clause matched and acceptUnmatched is false")
        : $"{(DecidedBy.Accept ? "accept" : "reject")} {DecidedBy.Pattern} on {DecidedBy.Target}";
}

/// <summary>
/// Sarracenia's accept/reject semantics: clauses are tried in order and the first that matches decides;
/// when none matches, <c>acceptUnmatched</c> decides. As in sr3 (Python <c>re.match</c>) a pattern is
/// anchored at the start of the text but not at the end, so <c>.*\.grib2</c> matches any path containing
/// ".grib2". Patterns are compiled once, with a match timeout against hostile input.
/// </summary>
public sealed class AnnouncementFilter
{
    private readonly (FilterClause Clause, Regex Regex)[] _clauses;

    public AnnouncementFilter(IEnumerable<FilterClause> clauses, bool acceptUnmatched = true)
    {
        ArgumentNullException.ThrowIfNull(clauses);
        _clauses = clauses.Select(Compile).ToArray();
        Clauses = _clauses.Select(c => c.Clause).ToArray();
        AcceptUnmatched = acceptUnmatched;
    }

    public static AnnouncementFilter AcceptAll { get; } = new([], acceptUnmatched: true);

    public bool AcceptUnmatched { get; }

    public IReadOnlyList<FilterClause> Clauses { get; }

    public FilterVerdict Evaluate(Announcement announcement)
    {
        foreach (var (clause, regex) in _clauses)
        {
            var text = clause.Target switch
            {
                FilterTarget.RelPath => announcement.RelPath,
                FilterTarget.Topic => announcement.Topic,
                _ => announcement.Location.OriginalString,
            };
            if (text is not null && regex.IsMatch(text)) return new FilterVerdict(clause.Accept, clause);
        }
        return new FilterVerdict(AcceptUnmatched, null);
    }

    private static (FilterClause, Regex) Compile(FilterClause clause, int index)
    {
        try
        {
            return (clause, new Regex("^(?:" + clause.Pattern + ")", RegexOptions.CultureInvariant | RegexOptions.Compiled,
                TimeSpan.FromMilliseconds(250)));
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"filter clause {index} ('{clause.Pattern}') is not a valid regular expression: {e.Message}", nameof(clause), e);
        }
    }
}
