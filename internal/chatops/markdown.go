package chatops

import (
	"strings"

	"github.com/ferry-gitops/ferry/internal/markdown"
)

// maxEcho caps the characters of commenter text echoed into a reply.
const maxEcho = 200

// Echo renders commenter text as an inline markdown code span that is safe
// to put in a reply: report.Code of the text capped at maxEcho characters
// (report.Clip). GitHub does not turn mentions or issue references in code
// spans into pings or links, the span cannot be broken out of, and it is a
// single line without control or format characters.
func Echo(s string) string {
	return markdown.Code(markdown.Clip(s, maxEcho))
}

// blocks follows the markdown block structure of a comment line by line,
// just enough to tell text from code and comments.
type blocks struct {
	fence       rune // '`' or '~' while in a fenced code block, else 0
	fenceLen    int  // the opening fence's length: the closing one is as long or longer
	fenceIndent int  // the column the fence's container starts at
	comment     bool // in a multi-line HTML comment
}

// text returns a line's content without its indentation, and whether it
// is ordinary text at the top level of the comment, where a command may be.
func (b *blocks) text(line string) (string, bool) {
	indent, rest := indentation(line)
	if b.fence != 0 {
		if indent <= b.fenceIndent+3 && b.closes(rest) {
			b.fence = 0
		}
		return "", false
	}
	if b.comment {
		b.comment = !strings.Contains(line, "-->")
		return "", false
	}
	if indent > 3 {
		return "", false // indented code, or a continuation of something else
	}
	if b.opens(rest, 0) {
		return "", false
	}
	// A fence in a list item hides lines as much as one at the top level.
	if item, col, ok := listItem(rest); ok && b.opens(item, indent+col) {
		return "", false
	}
	if after, ok := strings.CutPrefix(rest, "<!--"); ok {
		b.comment = !strings.Contains(after, "-->")
		return "", false
	}
	return rest, true
}

// opens starts a fenced code block if s is a fence opener.
func (b *blocks) opens(s string, container int) bool {
	if s == "" || (s[0] != '`' && s[0] != '~') {
		return false
	}
	c := rune(s[0])
	n := len(s) - len(strings.TrimLeft(s, string(c)))
	// A backtick "fence" followed by more backticks is an inline code span.
	if n < 3 || (c == '`' && strings.ContainsRune(s[n:], '`')) {
		return false
	}
	b.fence, b.fenceLen, b.fenceIndent = c, n, container
	return true
}

func (b *blocks) closes(s string) bool {
	rest := strings.TrimLeft(s, string(b.fence))
	return len(s)-len(rest) >= b.fenceLen && strings.TrimSpace(rest) == ""
}

// indentation is the column a line's content starts at, tabs stopping
// every four columns, and the content.
func indentation(line string) (int, string) {
	col := 0
	for i, r := range line {
		switch r {
		case ' ':
			col++
		case '\t':
			col += 4 - col%4
		default:
			return col, line[i:]
		}
	}
	return col, ""
}

// listItem returns a list item's content and the column it starts at
// relative to the marker, for "- x", "* x", "+ x", "1. x" and "1) x".
func listItem(s string) (string, int, bool) {
	i := 0
	switch {
	case s == "":
		return "", 0, false
	case s[0] == '-' || s[0] == '*' || s[0] == '+':
		i = 1
	default:
		for i < len(s) && i < 9 && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) || (s[i] != '.' && s[i] != ')') {
			return "", 0, false
		}
		i++
	}
	if i == len(s) || (s[i] != ' ' && s[i] != '\t') {
		return "", 0, false
	}
	pad, item := indentation(s[i:])
	return item, i + pad, true
}
