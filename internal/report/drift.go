package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ferry-gitops/ferry/internal/drift"
	"github.com/ferry-gitops/ferry/internal/markdown"
)

// DriftIssue is the body of the issue that reports a drift of env, last
// synced to commit, whose sync policy does not self-heal. It shows the
// drifted fields' values in Git and live: mask it before posting.
func DriftIssue(ev drift.Event, env, commit string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "ferry found %s drifting from Git (revision %s). selfHeal is off, so ferry reports instead of reverting.\n\n", markdown.Code(env), markdown.Code(shortRevision(commit)))
	b.WriteString("| Object | Change | Fields | By | When |\n| :-- | :-- | :-- | :-- | :-- |\n")
	managers := make([]string, 0, len(ev.Managers))
	for _, m := range orDash(ev.Managers) {
		managers = append(managers, markdown.Escape(m))
	}
	fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n\n", markdown.CodeCell(ev.Key.String()), markdown.Escape(ev.Kind),
		strings.ReplaceAll(codeList(orDash(ev.Fields)), "|", `\|`), strings.Join(managers, ", "), ev.Time.UTC().Format(time.RFC3339))
	if len(ev.Want) > 0 {
		fields := make([]string, 0, len(ev.Want))
		for f := range ev.Want {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		var diff strings.Builder
		for _, f := range fields {
			fmt.Fprintf(&diff, "- %s: %v   # Git\n+ %s: %v   # live\n", f, ev.Want[f], f, ev.Live[f])
		}
		b.WriteString(markdown.Fenced("diff", diff.String()))
	}
	fmt.Fprintf(&b, "To put Git's state back, comment %s on the pull request that merged %s, or turn on `syncPolicy.automated.selfHeal`. To keep the live change, make it in Git: a pull request that changes the manifests. This issue closes after the next successful sync.\n",
		markdown.Code("/ferry sync "+env), markdown.Code(shortRevision(commit)))
	return b.String()
}

// DriftResolved is what a drift issue says as it closes: env was synced to
// commit.
func DriftResolved(env, commit string) string {
	return fmt.Sprintf("%s was synced to %s: the cluster matches Git again.", markdown.Code(env), markdown.Code(shortRevision(commit)))
}

func orDash(s []string) []string {
	if len(s) == 0 {
		return []string{"-"}
	}
	return s
}
