package chatops

import (
	"strings"
	"testing"
)

// FuzzParse checks what must hold for any comment: commands and errors
// point at /ferry lines, and echoing any of them is a safe code span.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"/ferry sync prod",
		"/ferry diff --live a b\r\n> /ferry sync x\n```\n/ferry lock y\n```",
		"/ferry rollback prod #12\n/ferry snyc @org/team ```",
		"- ```\n  /ferry sync prod\n<!--\n/ferry help\n-->",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cmds, errs := Parse(body)
		lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\r", "\n"), "\n")
		check := func(line int, raw string) {
			if line < 1 || line > len(lines) || strings.TrimSpace(lines[line-1]) != raw {
				t.Fatalf("line %d, raw %q does not match the comment", line, raw)
			}
			if len(raw) < len(prefix) || !strings.EqualFold(raw[:len(prefix)], prefix) {
				t.Fatalf("raw %q does not start with %s", raw, prefix)
			}
			out := Echo(raw)
			codeSpan(t, out)
			if mentionRE.MatchString(out) || strings.ContainsAny(out, "\r\n") {
				t.Fatalf("Echo(%q) = %q is not neutral", raw, out)
			}
		}
		for _, c := range cmds {
			check(c.Line, c.Raw)
			if Usage(c.Name) == "" {
				t.Fatalf("command %q is not in the table", c.Name)
			}
		}
		for _, e := range errs {
			check(e.Line, e.Raw)
			if mentionRE.MatchString(e.Markdown()) {
				t.Fatalf("Markdown() = %q mentions someone", e.Markdown())
			}
		}
		if len(cmds)+len(errs) > maxCommands+1 {
			t.Fatalf("%d commands and errors, over the limit", len(cmds)+len(errs))
		}
	})
}
