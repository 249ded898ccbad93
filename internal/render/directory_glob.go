package render

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// compileGlob translates a pattern of Argo CD's directory include/exclude
// (github.com/gobwas/glob without separators) into a regular expression:
// `*` and `**` match any run of characters, "/" included; `?` any one
// character; `[abc]`, `[a-z]` and `[!…]` classes; `{a,b}` alternatives,
// which nest and may hold wildcards; `\` escapes the next character. The
// whole path must match.
func compileGlob(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	depth := 0
	runes := []rune(pattern)
	for i := 0; i < len(runes); i++ {
		c := runes[i]
		switch {
		case c == '*':
			for i+1 < len(runes) && runes[i+1] == '*' {
				i++
			}
			b.WriteString(`.*`)
		case c == '?':
			b.WriteString(`.`)
		case c == '[':
			n, err := globClass(runes[i:], &b)
			if err != nil {
				return nil, err
			}
			i += n - 1
		case c == '{':
			depth++
			b.WriteString(`(?:`)
		case c == '}' && depth > 0:
			depth--
			b.WriteString(`)`)
		case c == ',' && depth > 0:
			b.WriteString(`|`)
		case c == '\\':
			if i+1 >= len(runes) {
				return nil, errors.New("pattern ends with an escape character")
			}
			i++
			b.WriteString(regexp.QuoteMeta(string(runes[i])))
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	if depth > 0 {
		return nil, errors.New("unclosed '{'")
	}
	b.WriteString(`)$`)
	return regexp.Compile(b.String())
}

// globClass writes the character class at the start of runes and returns
// how many runes it took.
func globClass(runes []rune, b *strings.Builder) (int, error) {
	end := -1
	for k := 1; k < len(runes); k++ {
		if runes[k] == ']' {
			end = k
			break
		}
	}
	if end < 0 {
		return 0, errors.New("unclosed '['")
	}
	body := runes[1:end]
	b.WriteString(`[`)
	if len(body) > 0 && body[0] == '!' {
		b.WriteString(`^`)
		body = body[1:]
	}
	if len(body) == 0 {
		return 0, errors.New("empty character class")
	}
	for _, r := range body {
		// QuoteMeta leaves '-' alone, so ranges (a-z) stay ranges.
		b.WriteString(regexp.QuoteMeta(string(r)))
	}
	b.WriteString(`]`)
	return end + 1, nil
}

// pathFilter is a directory source's include and exclude patterns.
type pathFilter struct {
	include, exclude *regexp.Regexp
}

func newPathFilter(include, exclude string) (pathFilter, error) {
	var f pathFilter
	var err error
	if include != "" {
		if f.include, err = compileGlob(include); err != nil {
			return f, fmt.Errorf("directory.include %q: %w", include, err)
		}
	}
	if exclude != "" {
		if f.exclude, err = compileGlob(exclude); err != nil {
			return f, fmt.Errorf("directory.exclude %q: %w", exclude, err)
		}
	}
	return f, nil
}

// keep reports whether a file, by its path relative to the source
// directory, is read: exclude wins over include.
func (f pathFilter) keep(rel string) bool {
	if f.exclude != nil && f.exclude.MatchString(rel) {
		return false
	}
	return f.include == nil || f.include.MatchString(rel)
}
