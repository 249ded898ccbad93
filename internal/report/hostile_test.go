package report

import (
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/mdtest"
	"github.com/ferry-gitops/ferry/internal/preview"
)

// TestMarkdownHostileGolden renders a whole comment whose names, paths,
// skipped files and errors are all hostile, and reads it as GitHub would.
func TestMarkdownHostileGolden(t *testing.T) {
	evil := "x` **ready to merge** @org/team #1 <!--"
	r := &preview.Result{
		Environments: []preview.EnvironmentResult{
			{
				Name: evil, Status: preview.Changed, Touched: true, Lifecycle: "added", Counts: preview.Counts{Added: 1},
				BaseError: "```\n### ✅ ready to merge\n@org/team",
				Resources: []diff.Change{{
					Key:    manifest.Key{Kind: "ConfigMap", Namespace: "ns", Name: "[x](https://evil.example) @org/team"},
					Change: diff.Added,
					Diff:   "--- a\n+++ b\n@@ -0,0 +1 @@\n+```\n+### ✅ ready to merge\n",
				}},
			},
			{
				Name: "</summary></details>\n# ✅ ready to merge", Status: preview.Error, Touched: true,
				Error: "kustomize: ```\n@org/team fixes #3", ErrorFile: "a/`b`.yaml", ErrorLine: 2,
			},
		},
		Skipped: []string{"apps/evil.yaml: line 1: Application name \"#### ✅ ready to merge @org/team <img src=x>\" is not valid"},
	}
	md := Markdown(r, MarkdownOptions{Title: "ferry diff", Marker: "<!-- ferry:diff -->"})
	checkMarkdown(t, md)
	d := mdtest.Inert(t, md, mdtest.Allow{Headings: []string{"ferry diff"}})
	for _, s := range []string{evil, "</summary></details> # ✅ ready to merge", "ConfigMap ns/[x](https://evil.example) @org/team", "@org/team fixes #3",
		`"#### ✅ ready to merge @org/team <img src=x>"`} {
		if !strings.Contains(d.Text+d.Code, s) {
			t.Errorf("does not show %q as written", s)
		}
	}
	golden(t, "hostile.md.golden", []byte(md))
}
