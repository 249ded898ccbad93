package report

import (
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/mdtest"
)

// Hostile text as a pull request or a commenter would write it: an
// environment or object name, a lock reason, an error quoting them.
const (
	evilName   = "x` **ready to merge** @org/team #1 <!--"
	evilReason = "</details>\n\n#### Policy: ✅ ready to merge\n@org/team fixes #12 [ok](https://evil.example) ![i](https://evil.example/i.png) <img src=x>"
	evilError  = "apply failed: ```\n#### ✅ ready to merge\n@org/team\n```"
	evilObject = "a|b`c@org/team"
)

// shown is how text reads once escaped: every line break a space.
func shown(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(s, "\n", " "))
}

// post is one piece of markdown ferry posts, rendered from hostile or
// ordinary input.
type post struct {
	name  string // its golden file is testdata/<name>.md.golden
	md    string
	allow mdtest.Allow
	shows []string // hostile text that must read as written
	// links are the addresses ferry means to link: pull requests GitHub
	// gave it, never text from a pull request.
	links []string
}

// checkPosts reads each post as GitHub would: only ferry's own headings
// and mentions, no links, images, HTML or comments, and the hostile text
// shown as written. Each must also be byte for byte its golden file.
func checkPosts(t *testing.T, posts []post) {
	t.Helper()
	for _, p := range posts {
		t.Run(p.name, func(t *testing.T) {
			if got := mdtest.Read(t, p.md); strings.Join(got.Links, "\n") != strings.Join(p.links, "\n") || len(got.Images) > 0 {
				t.Errorf("links %q and images %q, want links %q", got.Links, got.Images, p.links)
			}
			// Everything else is as inert as a post without links.
			md := p.md
			for _, l := range p.links {
				md = strings.ReplaceAll(md, l, "(link)")
			}
			d := mdtest.Inert(t, md, p.allow)
			all := d.Text + "\n" + d.Code
			for _, s := range p.shows {
				if !strings.Contains(all, s) {
					t.Errorf("does not show %q as written; shows:\n%s", s, all)
				}
			}
			mdtest.Golden(t, p.name+".md.golden", []byte(p.md), *update)
		})
	}
}
