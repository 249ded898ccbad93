package report

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/preview"
)

// fenceLine matches a CommonMark backtick fence: an info string may not
// hold backticks, or the line is a paragraph with code spans.
var fenceLine = regexp.MustCompile("^ {0,3}(`{3,})([^`]*)$")

// fencedBlocks returns the contents of the fenced code blocks in md, and
// fails the test on a fence left open.
func fencedBlocks(t *testing.T, md string) (blocks []string, outside []string) {
	t.Helper()
	var cur []string
	fence := ""
	for _, l := range strings.Split(md, "\n") {
		m := fenceLine.FindStringSubmatch(l)
		switch {
		case fence == "" && m != nil:
			fence = m[1]
			cur = nil
		case fence != "" && m != nil && len(m[1]) >= len(fence) && strings.TrimSpace(m[2]) == "":
			blocks = append(blocks, strings.Join(cur, "\n")+"\n")
			fence = ""
		case fence != "":
			cur = append(cur, l)
		default:
			outside = append(outside, l)
		}
	}
	if fence != "" {
		t.Fatalf("code fence %q never closed", fence)
	}
	return blocks, outside
}

// checkMarkdown asserts that md is well formed: valid UTF-8, every code
// fence closed, <details> and <summary> balanced outside code.
func checkMarkdown(t *testing.T, md string) {
	t.Helper()
	if !utf8.ValidString(md) {
		t.Fatal("comment is not valid UTF-8")
	}
	_, outside := fencedBlocks(t, md)
	depth := 0
	for _, l := range outside {
		l = stripCodeSpans(l)
		depth += strings.Count(l, "<details>") + strings.Count(l, "<details open>")
		depth -= strings.Count(l, "</details>")
		if depth < 0 {
			t.Fatalf("</details> without <details> at %q", l)
		}
		if strings.Count(l, "<summary>") != strings.Count(l, "</summary>") {
			t.Fatalf("unbalanced <summary> in %q", l)
		}
	}
	if depth != 0 {
		t.Fatalf("%d <details> left open", depth)
	}
}

// stripCodeSpans drops inline code spans, whose text is literal.
func stripCodeSpans(l string) string {
	var sb strings.Builder
	for i := 0; i < len(l); {
		if l[i] != '`' {
			sb.WriteByte(l[i])
			i++
			continue
		}
		n := 0
		for i+n < len(l) && l[i+n] == '`' {
			n++
		}
		// Find the closing run of exactly n backticks.
		end := -1
		for j := i + n; j < len(l); {
			if l[j] != '`' {
				j++
				continue
			}
			m := 0
			for j+m < len(l) && l[j+m] == '`' {
				m++
			}
			if m == n {
				end = j + m
				break
			}
			j += m
		}
		if end < 0 {
			sb.WriteString(l[i : i+n])
			i += n
			continue
		}
		i = end
	}
	return sb.String()
}

// checkBlocksWhole asserts that every diff in md is one of the result's
// diffs, whole, and that shown plus announced-as-omitted resources add up.
func checkBlocksWhole(t *testing.T, r *preview.Result, md string) {
	t.Helper()
	diffs := map[string]bool{}
	total := 0
	for _, e := range r.Environments {
		for _, c := range e.Resources {
			if c.Change == diff.Unchanged {
				continue
			}
			total++
			d := c.Diff
			if !strings.HasSuffix(d, "\n") {
				d += "\n"
			}
			diffs[d] = true
		}
	}
	blocks, _ := fencedBlocks(t, md)
	shown := 0
	for _, b := range blocks {
		if strings.HasPrefix(b, "--- ") {
			if !diffs[b] {
				t.Fatalf("diff block is not one of the inputs, whole:\n%.300s", b)
			}
			shown++
		}
	}
	m := regexp.MustCompile(`… and (\d+) more resources?`).FindStringSubmatch(md)
	if m == nil {
		if shown != total && strings.Contains(md, "|") {
			// Only the shortest fallbacks (no table) may drop the notice.
			t.Fatalf("%d of %d resources shown and no notice", shown, total)
		}
		return
	}
	omitted, _ := strconv.Atoi(m[1])
	if shown+omitted != total {
		t.Fatalf("shown %d + omitted %d != %d resources", shown, omitted, total)
	}
}

// randomResult builds results of very different shapes: from nothing to
// thousands of environments, with hostile names and diffs full of fences.
func randomResult(rng *rand.Rand) *preview.Result {
	names := []string{"prod", "staging", "a|b", "x`y", "<b>", "@team", "ünïcode-環境", "```", "env"}
	lines := []string{"  image: app:1", "```", " ```", "````go", "  key: \"é🚀\"", "<details>", "</details>", "  - name: x"}
	envCount := []int{0, 1, 3, 12, 60, 400, 3000}[rng.IntN(7)]
	r := &preview.Result{Base: "b", Head: "h"}
	for i := range envCount {
		e := preview.EnvironmentResult{
			Name:    fmt.Sprintf("%s-%d", names[rng.IntN(len(names))], i),
			Touched: rng.IntN(2) == 0,
		}
		switch rng.IntN(6) {
		case 0:
			e.Status = preview.Error
			e.Error = strings.Repeat("template error ``` line\n", 1+rng.IntN(300))
			e.ErrorFile = "charts/x/templates/a.yaml"
			e.ErrorLine = rng.IntN(100)
		case 1:
			e.Status = preview.External
		case 2:
			e.Status = preview.Unchanged
			e.Counts.Unchanged = rng.IntN(10)
		default:
			e.Status = preview.Changed
			n := 1 + rng.IntN(20)
			switch {
			case envCount >= 400:
				// Many environments, few resources each: keeps the test quick.
				n = 1 + rng.IntN(3)
			case rng.IntN(10) == 0:
				n = 200
			}
			for j := range n {
				ct := []diff.ChangeType{diff.Added, diff.Changed, diff.Removed, diff.Unchanged}[rng.IntN(4)]
				c := diff.Change{
					Key:    manifest.Key{Group: "apps", Kind: "Deployment", Namespace: "ns", Name: fmt.Sprintf("%s-%d-%d", names[rng.IntN(len(names))], i, j)},
					Change: ct,
				}
				if ct != diff.Unchanged {
					var sb strings.Builder
					fmt.Fprintf(&sb, "--- base/%d/%d\n+++ head/%d/%d\n@@ -1 +1 @@\n", i, j, i, j)
					size := rng.IntN(40)
					if rng.IntN(20) == 0 {
						size = 3000
					}
					for range size {
						sb.WriteString([]string{" ", "+", "-"}[rng.IntN(3)])
						sb.WriteString(lines[rng.IntN(len(lines))])
						sb.WriteString("\n")
					}
					c.Diff = sb.String()
				}
				if rng.IntN(8) == 0 {
					c.Key.Kind = "Secret"
					c.SecretKeys = &diff.SecretKeys{Changed: []string{"password", "a`b"}}
				}
				switch ct {
				case diff.Added:
					e.Counts.Added++
				case diff.Changed:
					e.Counts.Changed++
				case diff.Removed:
					e.Counts.Removed++
				default:
					e.Counts.Unchanged++
				}
				e.Resources = append(e.Resources, c)
			}
		}
		r.Environments = append(r.Environments, e)
	}
	if rng.IntN(3) == 0 {
		for i := range rng.IntN(50) {
			r.Skipped = append(r.Skipped, fmt.Sprintf("apps/%d.yaml: bad ``` *file*", i))
		}
	}
	return r
}

// TestMarkdownBudget is the property the comment poster relies on: whatever
// the result, the comment fits, and it is still well-formed Markdown.
func TestMarkdownBudget(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 60 {
		r := randomResult(rng)
		for _, limit := range []int{1000, 5000, GitHubCommentLimit} {
			opts := MarkdownOptions{
				MaxChars: limit,
				Title:    "ferry diff",
				Marker:   "<!-- ferry:diff -->",
				Footer:   "<sub>rendered at abc1234</sub>",
			}
			got := Markdown(r, opts)
			if len(got) > limit {
				t.Fatalf("case %d (%d envs), limit %d: len %d", i, len(r.Environments), limit, len(got))
			}
			if !strings.HasPrefix(got, opts.Marker+"\n### ferry diff\n") {
				t.Fatalf("case %d, limit %d: lost the marker or title:\n%.200s", i, limit, got)
			}
			checkMarkdown(t, got)
			checkBlocksWhole(t, r, got)
		}
	}
}

// TestMarkdownTinyBudgets covers budgets below any sensible comment: the
// guarantee still holds, down to an empty string.
func TestMarkdownTinyBudgets(t *testing.T) {
	r := multiEnv(t)
	for limit := 1; limit < 1500; limit += 7 {
		got := Markdown(r, MarkdownOptions{MaxChars: limit, Title: "ferry diff", Marker: "<!-- ferry:diff -->", Footer: "footer"})
		if len(got) > limit {
			t.Fatalf("limit %d: len %d", limit, len(got))
		}
		checkMarkdown(t, got)
	}
}
