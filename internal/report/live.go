package report

import (
	"fmt"
	"strings"

	"github.com/ferry-gitops/ferry/internal/markdown"
	"github.com/ferry-gitops/ferry/internal/preview"
)

// liveBudget bounds the live section so the diff above it keeps its room.
const liveBudget = 16000

// liveTitle heads the live section of the comment.
const liveTitle = "ferry diff --live (head against the cluster)"

// Live is what the live section of a preview comment shows: each
// environment the pull request changes, diffed against its cluster.
type Live struct {
	// Result is the live diff: base the cluster, head the pull request.
	Result *preview.Result
	// Branch is the default branch, whose environment definitions say
	// where and what is read.
	Branch string
	// Notes are the environments not fully read, in order.
	Notes []LiveNote
}

// LiveNote is an environment the live diff could not fully read.
type LiveNote struct {
	Environment string
	// Undefined: the environment is not defined on the default branch, so
	// nothing of it was read.
	Undefined bool
	// Untracked counts the objects ferry does not track there, shown as a
	// sync would create them.
	Untracked int
	// Refused counts the objects outside the environment's project: not
	// read, not shown, and a sync of them would be refused.
	Refused int
}

// LiveSection is the live section of a preview comment, within its own
// budget.
func LiveSection(l Live) string {
	var footer strings.Builder
	for _, n := range l.Notes {
		switch {
		case n.Undefined:
			fmt.Fprintf(&footer, "- %s is not an environment on the default branch %s: it has no live state to compare.\n", markdown.Code(n.Environment), markdown.Code(l.Branch))
		case n.Untracked > 0:
			fmt.Fprintf(&footer, "- %s: objects ferry does not track there, shown as a sync would create them without reading the cluster: %d.\n", markdown.Code(n.Environment), n.Untracked)
		}
		if n.Refused > 0 {
			fmt.Fprintf(&footer, "- %s: objects outside its project, not read (a sync of them is refused; see the policy): %d.\n", markdown.Code(n.Environment), n.Refused)
		}
	}
	return Markdown(l.Result, MarkdownOptions{Title: liveTitle, MaxChars: liveBudget, Footer: footer.String()})
}

// LiveUnavailable is the live section when the default branch's
// environments could not be read.
func LiveUnavailable(branch string) string {
	return "### " + markdown.Escape(liveTitle) + "\n\nferry could not read the environments of the default branch " + markdown.Code(branch) + ", so nothing live is shown.\n"
}
