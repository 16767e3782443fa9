using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Containerd.Daemon.Filters;

/// <summary>
/// containerd's filter grammar (filters/parser.go):
/// <code>
/// selectors := selector ("," selector)*
/// selector  := fieldpath (operator value)?
/// fieldpath := field ("." field)*
/// field     := quoted | [A-Za-z0-9_-]+
/// operator  := "==" | "!=" | "~="
/// value     := quoted | [^\s,]+
/// quoted    := a string between " with Go's escapes (\n, \", \x41, \u00e9, \101 ...),
///              or between / or | (a pattern: only the quote is unescaped, \. \d stay)
/// </code>
/// Whitespace between tokens is ignored. Errors name the filter and the offset.
/// </summary>
internal sealed class FilterParser
{
    /// <summary>A pattern is run against every listed object: bound its backtracking.</summary>
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(100);

    private readonly string _input;
    private int _pos;

    private FilterParser(string input) => _input = input;

    public static IReadOnlyList<FilterSelector> Parse(string input) => new FilterParser(input).Selectors();

    private IReadOnlyList<FilterSelector> Selectors()
    {
        var selectors = new List<FilterSelector> { Selector() };
        while (true)
        {
            SkipSpace();
            if (AtEnd)
                return selectors;
            if (_input[_pos] != ',')
                throw Error(_pos, $"unexpected '{_input[_pos]}' (selectors are separated by ',')");
            _pos++;
            selectors.Add(Selector());
        }
    }

    private FilterSelector Selector()
    {
        var path = FieldPath();
        SkipSpace();
        if (AtEnd || _input[_pos] == ',')
            return new FilterSelector(path, FilterOperator.Present, "", null);

        var opStart = _pos;
        while (!AtEnd && _input[_pos] is '=' or '!' or '~')
            _pos++;
        var op = _input[opStart.._pos] switch
        {
            "==" => FilterOperator.Equal,
            "!=" => FilterOperator.NotEqual,
            "~=" => FilterOperator.Matches,
            "" => throw Error(opStart, $"expected an operator (==, != or ~=) or ',' after field \"{string.Join('.', path)}\""),
            var other => throw Error(opStart, $"unsupported operator \"{other}\" (use ==, != or ~=)"),
        };

        SkipSpace();
        var valueStart = _pos;
        if (AtEnd || _input[_pos] == ',')
            throw Error(valueStart, $"expected a value after \"{_input[opStart..(opStart + 2)]}\"");
        var value = IsQuote(_input[_pos]) ? Quoted() : Bare();
        Regex? pattern = null;
        if (op == FilterOperator.Matches)
        {
            try
            {
                pattern = new Regex(value, RegexOptions.CultureInvariant, MatchTimeout);
            }
            catch (ArgumentException e)
            {
                throw Error(valueStart, $"invalid regular expression \"{value}\": {e.Message}");
            }
        }
        return new FilterSelector(path, op, value, pattern);
    }

    private List<string> FieldPath()
    {
        var path = new List<string> { Field() };
        while (!AtEnd && _input[_pos] == '.')
        {
            _pos++;
            path.Add(Field());
        }
        return path;
    }

    private string Field()
    {
        SkipSpace();
        if (AtEnd)
            throw Error(_pos, "expected a field name, found the end");
        if (IsQuote(_input[_pos]))
            return Quoted();
        var start = _pos;
        while (!AtEnd && IsFieldChar(_input[_pos]))
            _pos++;
        if (_pos == start)
            throw Error(start, $"expected a field name or a quoted string, found '{_input[start]}'");
        return _input[start.._pos];
    }

    private string Bare()
    {
        var start = _pos;
        while (!AtEnd && _input[_pos] != ',' && !char.IsWhiteSpace(_input[_pos]))
            _pos++;
        return _input[start.._pos];
    }

    /// <summary>A string between a quote character and the same character again, with Go's escapes.</summary>
    private string Quoted()
    {
        var start = _pos;
        var quote = _input[_pos++];
        var text = new StringBuilder();
        while (true)
        {
            if (AtEnd || _input[_pos] == '\n')
                throw Error(start, $"unterminated quoted string (no closing {quote})");
            var c = _input[_pos];
            if (c == quote)
            {
                _pos++;
                return text.ToString();
            }
            if (c != '\\')
            {
                text.Append(c);
                _pos++;
                continue;
            }
            var escapeAt = _pos;
            _pos++;
            if (AtEnd)
                throw Error(escapeAt, $"unterminated quoted string (no closing {quote})");
            var e = _input[_pos++];
            if (quote != '"')
            {
                // Between / or | the text is a pattern: an escape other than the quote's is the pattern's
                // (\. \d), kept for the regex engine rather than refused as containerd does.
                if (e != quote)
                    text.Append('\\');
                text.Append(e);
                continue;
            }
            switch (e)
            {
                case 'a': text.Append('\a'); break;
                case 'b': text.Append('\b'); break;
                case 'f': text.Append('\f'); break;
                case 'n': text.Append('\n'); break;
                case 'r': text.Append('\r'); break;
                case 't': text.Append('\t'); break;
                case 'v': text.Append('\v'); break;
                case '\\': text.Append('\\'); break;
                case 'x': text.Append((char)Digits(escapeAt, 2, 16)); break;
                case 'u': AppendCodePoint(text, escapeAt, Digits(escapeAt, 4, 16)); break;
                case 'U': AppendCodePoint(text, escapeAt, Digits(escapeAt, 8, 16)); break;
                case >= '0' and <= '7':
                    _pos--;
                    var octal = Digits(escapeAt, 3, 8);
                    if (octal > 255)
                        throw Error(escapeAt, "octal escape above \\377");
                    text.Append((char)octal);
                    break;
                default:
                    if (e != quote)
                        throw Error(escapeAt, $"invalid escape \\{e} in a string quoted with {quote}");
                    text.Append(e);
                    break;
            }
        }
    }

    private int Digits(int escapeAt, int count, int radix)
    {
        var value = 0;
        for (var i = 0; i < count; i++)
        {
            var digit = AtEnd ? -1 : DigitValue(_input[_pos]);
            if (digit < 0 || digit >= radix)
                throw Error(escapeAt, $"escape needs {count} {(radix == 8 ? "octal" : "hex")} digits");
            value = value * radix + digit;
            _pos++;
        }
        return value;
    }

    private void AppendCodePoint(StringBuilder text, int escapeAt, int codePoint)
    {
        if (codePoint > 0x10FFFF || codePoint is >= 0xD800 and <= 0xDFFF)
            throw Error(escapeAt, $"escape names no character (U+{codePoint.ToString("X", CultureInfo.InvariantCulture)})");
        text.Append(char.ConvertFromUtf32(codePoint));
    }

    private static int DigitValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    private bool AtEnd => _pos >= _input.Length;

    private void SkipSpace()
    {
        while (!AtEnd && char.IsWhiteSpace(_input[_pos]))
            _pos++;
    }

    private static bool IsQuote(char c) => c is '"' or '/' or '|';

    private static bool IsFieldChar(char c) => c is '-' or '_' or (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9');

    private FilterSyntaxException Error(int position, string problem) =>
        new($"filter \"{_input}\": at offset {position}: {problem}");
}
