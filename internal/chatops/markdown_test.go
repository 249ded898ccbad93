package chatops

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// codeSpan reads s as one CommonMark inline code span and returns the text
// it shows, failing unless the span is the whole of s.
func codeSpan(t *testing.T, s string) string {
	t.Helper()
	n := len(s) - len(strings.TrimLeft(s, "`"))
	if n == 0 {
		t.Fatalf("%q does not start a code span", s)
	}
	fence := s[:n]
	rest := s[n:]
	// The span closes at the first backtick run exactly as long as the fence.
	for i := 0; i < len(rest); {
		if rest[i] != '`' {
			i++
			continue
		}
		j := i
		for j < len(rest) && rest[j] == '`' {
			j++
		}
		if j-i == n {
			if j != len(rest) {
				t.Fatalf("%q: the span closes early, leaving %q outside it", s, rest[j:])
			}
			text := rest[:i]
			if len(text) >= 2 && text[0] == ' ' && text[len(text)-1] == ' ' && strings.Trim(text, " ") != "" {
				text = text[1 : len(text)-1]
			}
			return text
		}
		i = j
	}
	t.Fatalf("%q: the %q span never closes", s, fence)
	return ""
}

// mentionRE is what GitHub would turn into a mention: "@" then a login.
var mentionRE = regexp.MustCompile(`@[A-Za-z0-9]`)

func TestEcho(t *testing.T) {
	long := strings.Repeat("a", 500)
	tests := []struct {
		name string
		in   string
		want string // the text the span shows
	}{
		{"plain", "/ferry sync prod", "/ferry sync prod"},
		{"mentions", "cc @bob and @org/team", "cc @\u200bbob and @\u200borg/team"},
		{"fence in text", "/ferry sync ```prod```", "/ferry sync ```prod```"},
		{"leading and trailing backticks", "`prod`", "`prod`"},
		{"only backticks", "```", "```"},
		{"control characters", "a\x00b\x1b[31mc\x7fd", "ab[31mcd"},
		{"bidi overrides and zero-width", "abc\u202edef\u2066g\u200bh", "abcdefgh"},
		{"line breaks become spaces", "a\nb\r\nc\u2028d", "a b  c d"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
		{"surrounding space", "  x  ", "x"},
		{"empty", "", " "},
		{"only controls", "\x00\x01", " "},
		{"capped", long, strings.Repeat("a", maxEcho-1) + "…"},
		{"exactly the cap", long[:maxEcho], long[:maxEcho]},
		{"cap counts dropped characters out", long[:maxEcho] + "\x00\x00", long[:maxEcho]},
		{"cut at a mention", strings.Repeat("a", maxEcho-1) + "@bob", strings.Repeat("a", maxEcho-1) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := Echo(tt.in)
			if strings.ContainsAny(out, "\r\n") {
				t.Fatalf("Echo(%q) = %q spans lines", tt.in, out)
			}
			if got := codeSpan(t, out); got != tt.want {
				t.Errorf("Echo(%q) shows %q, want %q", tt.in, got, tt.want)
			}
			if mentionRE.MatchString(out) {
				t.Errorf("Echo(%q) = %q holds a mention", tt.in, out)
			}
			visible := strings.ReplaceAll(codeSpan(t, out), "\u200b", "")
			if n := utf8.RuneCountInString(visible); n > maxEcho {
				t.Errorf("Echo shows %d characters, more than %d", n, maxEcho)
			}
		})
	}
}

// TestRepliesAreNeutralised posts what ferry would reply to a hostile
// command and checks the reply as GitHub would read it.
func TestRepliesAreNeutralised(t *testing.T) {
	comments := []string{
		"/ferry sync @org/team ```",
		"/ferry snyc @org/team",
		"/ferry @org/team",
		"/ferry diff ```\n/ferry sync prod\n```",
		"/ferry rollback prod ``@admin``",
		"/ferry lock --@everyone prod",
		"/ferry sync prod\x1b[2J\u202e",
	}
	for _, body := range comments {
		_, errs := Parse(body)
		if len(errs) == 0 {
			t.Errorf("Parse(%q): no usage error", body)
			continue
		}
		var reply strings.Builder
		reply.WriteString("ferry could not run these commands:\n\n")
		for _, e := range errs {
			reply.WriteString("- " + e.Markdown() + "\n")
		}
		out := reply.String()
		if mentionRE.MatchString(out) {
			t.Errorf("reply to %q mentions someone:\n%s", body, out)
		}
		for _, line := range strings.Split(out, "\n") {
			l := strings.TrimLeft(line, " -")
			if strings.HasPrefix(l, "```") || strings.HasPrefix(l, "~~~") {
				t.Errorf("reply to %q opens a code block at %q", body, line)
			}
			if strings.ContainsFunc(line, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\u202e' }) {
				t.Errorf("reply to %q holds control characters: %q", body, line)
			}
		}
		// ferry must not take its own reply for commands.
		if cmds, errs := Parse(out); len(cmds) != 0 || len(errs) != 0 {
			t.Errorf("Parse(reply to %q) = %v, %v; want nothing", body, cmds, errs)
		}
	}
}

func TestUsageErrorMarkdown(t *testing.T) {
	_, errs := Parse("hi\n/ferry snyc @org/team ```x```")
	if len(errs) != 1 {
		t.Fatalf("got %d errors, want 1", len(errs))
	}
	want := "Line 2, ```` /ferry snyc @\u200borg/team ```x``` ````: unknown command `snyc`. Did you mean `/ferry sync`?"
	if got := errs[0].Markdown(); got != want {
		t.Errorf("Markdown() =\n%q\nwant\n%q", got, want)
	}
	if got := errs[0].Error(); !strings.HasPrefix(got, "line 2: unknown command") {
		t.Errorf("Error() = %q", got)
	}
}
