namespace Containerd.Daemon.Filters;

/// <summary>
/// containerd's list filters: each filter string is selectors joined by
/// <c>,</c>, all of which must match; a request's several filter strings match
/// when any one does. No filter (or only empty ones) matches everything.
/// </summary>
public sealed class Filter
{
    private readonly IReadOnlyList<(string Text, IReadOnlyList<FilterSelector> Selectors)> _alternatives;

    private Filter(IReadOnlyList<(string, IReadOnlyList<FilterSelector>)> alternatives) => _alternatives = alternatives;

    /// <summary>Every selector of every alternative.</summary>
    public IEnumerable<FilterSelector> Selectors => _alternatives.SelectMany(a => a.Selectors);

    /// <summary>Parses each filter; a malformed one throws <see cref="FilterSyntaxException"/> naming it and where it went wrong.</summary>
    public static Filter Parse(IEnumerable<string> filters)
    {
        var alternatives = new List<(string, IReadOnlyList<FilterSelector>)>();
        foreach (var text in filters)
        {
            // containerd: an empty filter is "always", which makes the whole disjunction true.
            if (text.Length == 0)
                return new Filter([]);
            alternatives.Add((text, FilterParser.Parse(text)));
        }
        return new Filter(alternatives);
    }

    public static Filter Parse(string? filter) => Parse(string.IsNullOrEmpty(filter) ? [] : [filter]);

    public bool Matches(FieldAdaptor adaptor) =>
        _alternatives.Count == 0 || _alternatives.Any(a => a.Selectors.All(s => s.Matches(adaptor)));

    /// <summary>
    /// Refuses a field the objects do not have (containerd would silently match
    /// nothing): a typo should say so, not list an empty table.
    /// </summary>
    public Filter RequireKnownFields(Func<IReadOnlyList<string>, bool> isKnown, string fields)
    {
        foreach (var (text, selectors) in _alternatives)
        {
            foreach (var selector in selectors.Where(s => !isKnown(s.Path)))
                throw new FilterSyntaxException($"filter \"{text}\": unknown field \"{selector.PathText}\" (use {fields})");
        }
        return this;
    }
}
