// Package markdown makes untrusted text safe to place in GitHub-flavoured
// markdown: names, paths, errors and diffs from repositories and comments.
// Each helper keeps its text in its place (a code span, a table cell, a
// fenced block, plain text): it can't break out, mention anyone, reference
// an issue or link anything.
package markdown

import (
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The helpers below put untrusted text — environment and Application names,
// paths, lock reasons, errors, anything a pull request or commenter chose —
// into the GitHub markdown ferry posts. Whatever the text, it stays literal
// where it is put: it cannot close the span or block around it, start a
// heading, list, quote, link, image or HTML, or split a table cell. And it
// cannot ping or link anyone: GitHub turns "@login", "@org/team" and "#123"
// into mentions and references in text and HTML (not in code), so a
// zero-width space goes after every "@" and "#" that is shown as text.
// Before any of that, invalid UTF-8 becomes U+FFFD, control and format
// characters (bidi overrides included) are dropped, and every line break or
// other space becomes one space: the text is a single line.

// zwsp follows "@" and "#": invisible, and it breaks mentions and references.
const zwsp = '\u200b'

// Code renders s as an inline code span that no backtick in it can end.
// Inside a code span GitHub neither renders markup nor links mentions; "@"
// still gets its zero-width space, for readers who copy the text elsewhere.
// Surrounding space is dropped; empty text is a span of one space.
func Code(s string) string {
	text := strings.TrimSpace(Clean(s))
	if text == "" {
		return "` `"
	}
	text = strings.ReplaceAll(text, "@", "@\u200b")
	fence := strings.Repeat("`", longestRun(text, '`')+1)
	// CommonMark strips one space from each end when both are present, so
	// padding keeps a leading or trailing backtick from joining the fence.
	if strings.HasPrefix(text, "`") || strings.HasSuffix(text, "`") {
		text = " " + text + " "
	}
	return fence + text + fence
}

// CodeCell is Code for a table cell: GitHub splits rows at "|" even inside
// code spans, unless it is escaped.
func CodeCell(s string) string {
	return strings.ReplaceAll(Code(s), "|", `\|`)
}

// textEscaped are the ASCII characters that can start markup anywhere in a
// line: emphasis, code, links and images, HTML and entities, table cells,
// strikethrough, math, headings, and the "!" of an image.
const textEscaped = "\\`*_[]<>&|~$#!"

// listStart matches what would start a list, a thematic break or a setext
// heading underline at the beginning of a line.
var listStart = regexp.MustCompile(`^(?:[-+=]|[0-9]{1,9}[.)])`)

// Escape renders s as literal inline text, safe in a paragraph, a list
// item, a heading or a table cell, and at the start of a line. URLs are not
// turned into links either.
func Escape(s string) string {
	text := strings.TrimSpace(Clean(s))
	var sb strings.Builder
	sb.Grow(len(text) + 8)
	if m := listStart.FindString(text); m != "" {
		sb.WriteString(m[:len(m)-1])
		sb.WriteByte('\\')
		sb.WriteByte(m[len(m)-1])
		text = text[len(m):]
	}
	for i, r := range text {
		if r < utf8.RuneSelf && strings.ContainsRune(textEscaped, r) || autolinks(text, i) {
			sb.WriteByte('\\')
		}
		sb.WriteRune(r)
		if breaksReference(text, i) {
			sb.WriteRune(zwsp)
		}
	}
	return sb.String()
}

// autolinks reports whether the byte at i is where GitHub would see a URL
// to link: the ":" of "://", or the "." of a "www." starting a word.
func autolinks(text string, i int) bool {
	switch text[i] {
	case ':':
		return strings.HasPrefix(text[i:], "://")
	case '.':
		return i >= 3 && strings.EqualFold(text[i-3:i], "www") && (i == 3 || !isWordByte(text[i-4]))
	}
	return false
}

// breaksReference reports whether a zero-width space must follow the byte
// at i: after "@" and "#", and after the "-" of "GH-".
func breaksReference(text string, i int) bool {
	switch text[i] {
	case '@', '#':
		return true
	case '-':
		return i >= 2 && strings.EqualFold(text[i-2:i], "gh")
	}
	return false
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// HTML renders s as text inside ferry's own HTML, such as a <summary>:
// escaped for HTML, which GitHub still scans for mentions and references.
func HTML(s string) string {
	text := strings.TrimSpace(Clean(s))
	var sb strings.Builder
	for i, r := range text {
		sb.WriteString(html.EscapeString(string(r)))
		if breaksReference(text, i) {
			sb.WriteRune(zwsp)
		}
	}
	return sb.String()
}

// Fenced puts text in a fenced code block whose fence is longer than any
// run of backticks inside, so no line of the text can close it early, with
// info (such as "diff") after the opening fence. The text keeps its lines;
// invalid UTF-8 is replaced, and control characters other than tabs and
// bidi controls, which could make the text read other than it is, are
// shown escaped ("\x1b", "\u202e").
func Fenced(info, text string) string {
	text = visibleControls(strings.ToValidUTF8(text, "\uFFFD"))
	fence := strings.Repeat("`", max(3, longestRun(text, '`')+1))
	var sb strings.Builder
	sb.Grow(len(text) + 2*len(fence) + len(info) + 4)
	sb.WriteString(fence)
	sb.WriteString(Clean(info))
	sb.WriteString("\n")
	sb.WriteString(text)
	if !strings.HasSuffix(text, "\n") {
		sb.WriteString("\n")
	}
	sb.WriteString(fence)
	sb.WriteString("\n\n")
	return sb.String()
}

func visibleControls(s string) string {
	hidden := func(r rune) bool {
		return r != '\n' && r != '\t' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r))
	}
	if !strings.ContainsFunc(s, hidden) {
		return s
	}
	var sb strings.Builder
	for _, r := range s {
		if hidden(r) {
			q := strconv.QuoteRuneToASCII(r)
			sb.WriteString(q[1 : len(q)-1])
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// loginRE is a GitHub login, or an app's bot account.
var loginRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}(\[bot\])?$`)

// Mention is "@login", which pings the account: for a login GitHub gave
// ferry (the commenter, a reviewer), never for text someone wrote. Anything
// that is not a login is shown as Code, so it cannot ping anyone else.
func Mention(login string) string {
	if loginRE.MatchString(login) {
		return "@" + login
	}
	return Code(login)
}

// Clip shortens s, cleaned as the helpers above clean it, to at most n
// characters, ending in "…" when it was cut. Escape the result: Clip does
// not.
func Clip(s string, n int) string {
	text := strings.TrimSpace(Clean(s))
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	r := []rune(text)
	return strings.TrimSpace(string(r[:max(n-1, 0)])) + "…"
}

// Clean makes s valid UTF-8 on a single line, without control or format
// characters.
func Clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, s)
}

func longestRun(s string, c byte) int {
	best, cur := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}
