using System.Globalization;
using System.Text;

namespace EdgeRuntime.Data;

/// <summary>
/// Parses the subset of Python literal syntax that .npy headers use: dicts, tuples, lists,
/// quoted strings, integers, True/False/None. Dicts become <see cref="Dictionary{TKey,TValue}"/>
/// (string keys), tuples and lists become <see cref="List{T}"/>, integers become <see cref="long"/>.
/// </summary>
internal sealed class PythonLiteralParser
{
    private readonly string _text;
    private int _position;

    private PythonLiteralParser(string text) => _text = text;

    /// <exception cref="FormatException">The text is not a single literal.</exception>
    public static object? Parse(string text)
    {
        var parser = new PythonLiteralParser(text);
        object? value = parser.ParseValue();
        parser.SkipWhitespace();
        if (parser._position != text.Length)
        {
            throw parser.Error("unexpected text after the literal");
        }
        return value;
    }

    private object? ParseValue()
    {
        SkipWhitespace();
        if (_position >= _text.Length)
        {
            throw Error("unexpected end of text");
        }
        char c = _text[_position];
        return c switch
        {
            '{' => ParseDict(),
            '(' => ParseSequence(')'),
            '[' => ParseSequence(']'),
            '\'' or '"' => ParseString(),
            _ when c == '-' || c == '+' || char.IsAsciiDigit(c) => ParseInteger(),
            _ when char.IsAsciiLetter(c) || c == '_' => ParseName(),
            _ => throw Error($"unexpected character '{c}'"),
        };
    }

    private Dictionary<string, object?> ParseDict()
    {
        _position++; // '{'
        var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
        while (true)
        {
            SkipWhitespace();
            if (TryConsume('}'))
            {
                return dict;
            }
            if (Peek() is not ('\'' or '"'))
            {
                throw Error("dict keys must be quoted strings");
            }
            string key = ParseString();
            SkipWhitespace();
            Expect(':');
            dict[key] = ParseValue();
            SkipWhitespace();
            if (TryConsume('}'))
            {
                return dict;
            }
            Expect(',');
        }
    }

    private List<object?> ParseSequence(char close)
    {
        _position++; // '(' or '['
        var items = new List<object?>();
        while (true)
        {
            SkipWhitespace();
            if (TryConsume(close))
            {
                return items;
            }
            items.Add(ParseValue());
            SkipWhitespace();
            if (TryConsume(close))
            {
                return items;
            }
            Expect(',');
        }
    }

    private string ParseString()
    {
        char quote = _text[_position++];
        var builder = new StringBuilder();
        while (_position < _text.Length)
        {
            char c = _text[_position++];
            if (c == quote)
            {
                return builder.ToString();
            }
            if (c != '\\')
            {
                builder.Append(c);
                continue;
            }
            if (_position >= _text.Length)
            {
                break;
            }
            char escaped = _text[_position++];
            builder.Append(escaped switch
            {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '0' => '\0',
                _ => escaped, // \\, \', \" and anything else stand for themselves
            });
        }
        throw Error("unterminated string");
    }

    private long ParseInteger()
    {
        int start = _position;
        if (_text[_position] is '-' or '+')
        {
            _position++;
        }
        while (_position < _text.Length && char.IsAsciiDigit(_text[_position]))
        {
            _position++;
        }
        string digits = _text[start.._position];
        // Python 2 wrote long integers with an L suffix, e.g. (3L, 4L).
        if (_position < _text.Length && _text[_position] is 'L' or 'l')
        {
            _position++;
        }
        if (!long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
        {
            _position = start;
            throw Error($"'{digits}' is not an integer that fits in 64 bits");
        }
        return value;
    }

    private object? ParseName()
    {
        int start = _position;
        while (_position < _text.Length && (char.IsAsciiLetterOrDigit(_text[_position]) || _text[_position] == '_'))
        {
            _position++;
        }
        string name = _text[start.._position];
        return name switch
        {
            "True" => true,
            "False" => false,
            "None" => null,
            _ => throw Error($"unknown name '{name}'", start),
        };
    }

    private void SkipWhitespace()
    {
        while (_position < _text.Length && char.IsWhiteSpace(_text[_position]))
        {
            _position++;
        }
    }

    private char? Peek() => _position < _text.Length ? _text[_position] : null;

    private bool TryConsume(char expected)
    {
        if (Peek() == expected)
        {
            _position++;
            return true;
        }
        return false;
    }

    private void Expect(char expected)
    {
        if (!TryConsume(expected))
        {
            throw Error(Peek() is char found ? $"expected '{expected}' but found '{found}'" : $"expected '{expected}' but the text ended");
        }
    }

    private FormatException Error(string problem, int? at = null) =>
        new($"{problem} at position {at ?? _position}");
}
