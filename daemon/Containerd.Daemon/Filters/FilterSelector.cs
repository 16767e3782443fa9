using System.Text.RegularExpressions;

namespace Containerd.Daemon.Filters;

/// <summary>One <c>fieldpath[operator value]</c> of a filter.</summary>
public sealed record FilterSelector(IReadOnlyList<string> Path, FilterOperator Operator, string Value, Regex? Pattern)
{
    public bool Matches(FieldAdaptor adaptor)
    {
        var (actual, present) = adaptor(Path);
        return Operator switch
        {
            FilterOperator.Present => present,
            FilterOperator.Equal => present && actual == Value,
            FilterOperator.NotEqual => actual != Value,
            FilterOperator.Matches => MatchesPattern(actual),
            _ => false,
        };
    }

    private bool MatchesPattern(string actual)
    {
        try
        {
            return Pattern!.IsMatch(actual);
        }
        catch (RegexMatchTimeoutException)
        {
            // A pattern that backtracks past its budget on this value matches nothing rather than stalling the listing.
            return false;
        }
    }

    public string PathText => string.Join('.', Path);
}
