package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/markdown"
	"github.com/ferry-gitops/ferry/internal/policy"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/secrets"
)

// A pull request's checks and sticky comment. The check names are stable:
// branch protection requires them by name.
const (
	DiffCheckName   = "ferry/diff"
	PolicyCheckName = "ferry/policy"
	DiffMarker      = "<!-- ferry:diff -->"
	// commentBudget leaves GitHub's 65,536-character limit a margin for
	// the marker.
	commentBudget = 65536 - 64
	checkBudget   = 65535
)

// Preview is everything a preview posts: the sticky comment and the
// outcome of both checks.
type Preview struct {
	Comment                          string
	DiffConclusion, PolicyConclusion string
	Diff, Policy                     github.CheckOutput
}

// PreviewOf presents a pull request's preview at head, its policy decision
// and secret findings, and the live section (markdown, or empty).
func PreviewOf(res *preview.Result, head string, d *policy.Decision, findings []secrets.Finding, envs []policy.Environment, live string, elapsed time.Duration) Preview {
	footer := PreviewFooter(head, res.Base, elapsed)
	section := Policy(d, findings)
	if live != "" {
		section += "\n" + live
	}
	p := Preview{Comment: Markdown(res, MarkdownOptions{Title: "ferry diff", Marker: DiffMarker, MaxChars: commentBudget, Footer: section + "\n" + footer})}
	conclusion, summary, annotations := checkConclusion(res)
	p.DiffConclusion = conclusion
	p.Diff = github.CheckOutput{
		Title:       summary,
		Summary:     Markdown(res, MarkdownOptions{Title: "ferry diff", MaxChars: checkBudget, Footer: footer}),
		Annotations: annotations,
	}
	p.PolicyConclusion, p.Policy = PolicyCheck(d, findings, envs)
	return p
}

// PreviewFailed is both checks' output when a pull request can't be
// previewed at all (msg is already masked).
func PreviewFailed(msg string) github.CheckOutput {
	return github.CheckOutput{Title: "ferry could not preview this pull request", Summary: markdown.Fenced("", msg)}
}

func checkConclusion(res *preview.Result) (string, string, []github.Annotation) {
	var failed []string
	var annotations []github.Annotation
	changed := 0
	for _, e := range res.Environments {
		switch e.Status {
		case preview.Changed:
			changed++
		case preview.Error:
			failed = append(failed, e.Name)
			if e.ErrorFile != "" {
				annotations = append(annotations, github.Annotation{
					Path: e.ErrorFile, StartLine: max(e.ErrorLine, 1), Level: "failure",
					Title: "ferry: " + e.Name + " does not render", Message: e.Error,
				})
			}
		}
	}
	if len(failed) > 0 {
		return "failure", fmt.Sprintf("%d environment(s) fail to render: %s", len(failed), strings.Join(failed, ", ")), annotations
	}
	if changed == 0 {
		return "success", "No environment changes", nil
	}
	return "success", fmt.Sprintf("%d environment(s) change", changed), nil
}
