package markdown

import (
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/mdtest"
)

// hostile are names, reasons, paths and errors as an attacker would write
// them, each trying to break out of where ferry puts it.
var hostile = []string{
	"payment-service",
	"x` **ready to merge** `y",
	"``` \n#### Policy: ✅ ready to merge",
	"# Policy: ✅ ready to merge",
	"\n\n### ✅ ready to merge",
	"- [x] approved",
	"1. first",
	"---",
	"=== ",
	"> quoted",
	"    indented code",
	"[click](https://evil.example) ![img](https://evil.example/x.png)",
	"<img src=x onerror=alert(1)>",
	"<!-- hidden --> <details open>",
	"</summary></details></td></tr></table>",
	"cc @octocat and @org/team",
	"fixes #123 and org/repo#7 and GH-42",
	"a | b | c",
	"*bold* _em_ ~~gone~~ $x$ \\*",
	"&lt;script&gt; &#64;octocat &amp;",
	"bidi \u202eevil\u2066 zero\u200bwidth \x1b[31mred\x00",
	"invalid \xff utf-8",
	"`",
	"``lead",
	"trail``",
	"<https://evil.example>",
}

// visible is what a reader should see of s: s cleaned and trimmed.
func visible(s string) string { return strings.TrimSpace(Clean(s)) }

func TestEscapeStaysLiteral(t *testing.T) {
	// Each place ferry puts inline text, as a template around it.
	places := []struct {
		name     string
		md       string // %s is the escaped text
		headings []string
	}{
		{"paragraph", "before %s after\n", nil},
		{"line start", "%s\n", nil},
		{"after a paragraph", "ferry says\n%s\n", nil},
		{"list item", "- %s\n", nil},
		{"heading", "### ferry sync: %s\n", []string{"ferry sync: \x00"}},
		{"table cell", "| A | B |\n| :-- | :-- |\n| %s | end |\n", nil},
		{"bold", "**%s**\n", nil},
	}
	for _, s := range hostile {
		for _, p := range places {
			md := strings.Replace(p.md, "%s", Escape(s), 1)
			want := visible(s)
			heads := p.headings
			if heads != nil {
				heads = []string{"ferry sync: " + want}
			}
			d := mdtest.Inert(t, md, mdtest.Allow{Headings: heads})
			if !strings.Contains(d.Text, want) {
				t.Errorf("%s: %q shows %q, want %q in it; markdown:\n%s", p.name, s, d.Text, want, md)
			}
			if p.name == "table cell" && d.Tags["td"] != 2 {
				t.Errorf("table cell: %q made %d cells, want 2", s, d.Tags["td"])
			}
			if p.name != "list item" && p.name != "heading" && p.name != "table cell" && (d.Tags["li"] > 0 || d.Tags["hr"] > 0 || d.Tags["pre"] > 0 || d.Tags["em"] > 0 || d.Tags["del"] > 0) {
				t.Errorf("%s: %q made markup %v", p.name, s, d.Tags)
			}
		}
	}
}

func TestCodeStaysLiteral(t *testing.T) {
	for _, s := range hostile {
		md := "ferry locked " + Code(s) + " for you\n"
		d := mdtest.Inert(t, md, mdtest.Allow{})
		if want := visible(s); want != "" && d.Code != want {
			t.Errorf("Code(%q) shows %q, want %q; markdown:\n%s", s, d.Code, want, md)
		}
		if strings.TrimSpace(d.Text) != "ferry locked  for you" {
			t.Errorf("Code(%q) leaks into the text: %q", s, d.Text)
		}
		cell := "| A | B |\n| :-- | :-- |\n| " + CodeCell(s) + " | end |\n"
		d = mdtest.Inert(t, cell, mdtest.Allow{})
		if d.Tags["td"] != 2 {
			t.Errorf("CodeCell(%q) made %d cells, want 2:\n%s", s, d.Tags["td"], cell)
		}
		if want := visible(s); want != "" && d.Code != want {
			t.Errorf("CodeCell(%q) shows %q, want %q", s, d.Code, want)
		}
	}
	if got := Code(""); got != "` `" {
		t.Errorf("Code(\"\") = %q", got)
	}
}

func TestHTMLStaysLiteral(t *testing.T) {
	for _, s := range hostile {
		md := "<details><summary><b>" + HTML(s) + "</b> — changed</summary>\n\nbody\n\n</details>\n"
		d := mdtest.Inert(t, md, mdtest.Allow{})
		if want := visible(s) + " — changed"; !strings.Contains(d.Text, want) {
			t.Errorf("HTML(%q) shows %q, want %q", s, d.Text, want)
		}
		if d.Tags["details"] != 1 || d.Tags["summary"] != 1 || d.Tags["b"] != 1 {
			t.Errorf("HTML(%q) changed the structure: %v", s, d.Tags)
		}
	}
}

func TestFencedStaysLiteral(t *testing.T) {
	for _, s := range append(hostile, "line one\n```\n# heading\n````\n@octocat #1\n") {
		md := Fenced("", s) + "after\n"
		d := mdtest.Inert(t, md, mdtest.Allow{})
		want := visibleControls(strings.ToValidUTF8(strings.TrimSuffix(s, "\n"), "\uFFFD")) + "\n"
		if d.Code != strings.ReplaceAll(want, "\u200b", "") {
			t.Errorf("Fenced(%q) shows %q, want %q", s, d.Code, want)
		}
		if strings.TrimSpace(d.Text) != "after" {
			t.Errorf("Fenced(%q) leaks %q", s, d.Text)
		}
	}
}

func TestFencedShowsControls(t *testing.T) {
	got := Fenced("", "a\x1b[2Jb\u202ec\td\x00")
	if want := "```\na\\x1b[2Jb\\u202ec\td\\x00\n```\n\n"; got != want {
		t.Errorf("Fenced = %q, want %q", got, want)
	}
}

func TestMention(t *testing.T) {
	tests := []struct{ login, want string }{
		{"octocat", "@octocat"},
		{"renovate[bot]", "@renovate[bot]"},
		{"org/team", "`org/team`"},
		{"@octocat", "`@\u200boctocat`"},
		{"x` @y", "``x` @\u200by``"},
	}
	for _, tt := range tests {
		if got := Mention(tt.login); got != tt.want {
			t.Errorf("Mention(%q) = %q, want %q", tt.login, got, tt.want)
		}
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"a bit too long", 10, "a bit too…"},
		{"line\nbreak\x00", 20, "line break"},
		{"ééééé", 3, "éé…"},
	}
	for _, tt := range tests {
		if got := Clip(tt.in, tt.n); got != tt.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
