package chatops

import (
	"strings"
	"unicode"
)

// maxEcho caps the characters of commenter text echoed into a reply.
const maxEcho = 200

// Echo renders commenter text as an inline markdown code span that is safe
// to put in a reply: GitHub does not turn mentions or issue references in
// code spans into pings or links, and the span cannot be broken out of.
// On top of that, for readers that copy the text elsewhere:
//   - every "@" is followed by a zero-width space, so it is never a mention;
//   - control and format characters (including bidi overrides) are
//     dropped, and all whitespace, line breaks included, becomes a space;
//   - the text is capped at maxEcho characters, ending in "…" when cut;
//   - the span's backtick fence is longer than any backtick run inside it,
//     and it is a single line, so "```" in the text can neither close the
//     span nor open a code block.
func Echo(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	n, cut := 0, false
	for _, r := range strings.TrimSpace(s) {
		switch {
		case unicode.IsSpace(r):
			r = ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			continue
		}
		if n == maxEcho {
			cut = true
			break
		}
		n++
		b.WriteRune(r)
		if r == '@' {
			b.WriteRune('\u200b')
		}
	}
	text := strings.TrimSpace(b.String())
	if cut {
		text = truncate(text)
	}
	if text == "" {
		return "` `"
	}
	fence := strings.Repeat("`", longestRun(text, '`')+1)
	// CommonMark strips one space from each end when both are present, so
	// padding keeps a leading or trailing backtick from joining the fence.
	if strings.HasPrefix(text, "`") || strings.HasSuffix(text, "`") {
		text = " " + text + " "
	}
	return fence + text + fence
}

// truncate replaces the last visible character with "…" so the text stays
// within maxEcho characters.
func truncate(text string) string {
	r := []rune(text)
	end := len(r) - 1
	if end > 0 && r[end] == '\u200b' {
		end-- // drop the "@" with its zero-width space
	}
	return strings.TrimSpace(string(r[:end])) + "…"
}

func longestRun(s string, c rune) int {
	longest, run := 0, 0
	for _, r := range s {
		if r != c {
			run = 0
			continue
		}
		run++
		longest = max(longest, run)
	}
	return longest
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
