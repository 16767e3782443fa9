using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Containerd.Shared.Identifiers;

/// <summary>
/// Container ids and namespaces become path components, so they are checked
/// before any file or process is touched.
/// </summary>
public static partial class Identifier
{
    public const int MaxLength = 76;

    [GeneratedRegex("^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static bool IsValid([NotNullWhen(true)] string? value) =>
        !string.IsNullOrEmpty(value) && value.Length <= MaxLength && Pattern().IsMatch(value);

    /// <summary>Returns null when valid, otherwise a message naming the value and the rule.</summary>
    public static string? Problem(string what, string? value)
    {
        if (string.IsNullOrEmpty(value))
            return $"{what} must not be empty";
        if (value.Length > MaxLength)
            return $"{what} \"{value}\" is longer than {MaxLength} characters";
        if (!Pattern().IsMatch(value))
            return $"{what} \"{value}\" is invalid: use letters and digits, joined by single '.', '_' or '-'";
        return null;
    }
}
