package job

import (
	"fmt"
	"strings"

	"github.com/ferry-gitops/ferry/internal/report"
	"github.com/ferry-gitops/ferry/internal/syncer"
)

// Everything ferry posts is markdown, and most of what goes into it is
// someone else's text: environment and object names from the repository,
// lock reasons from comments, errors quoting either. All of it goes through
// package report's helpers (Code, CodeCell, Escape, Fenced), so none of it
// can break out of its place, mention anyone or link anything.

// maxReason caps a lock reason where it is quoted.
const maxReason = 200

// codeList is names as code spans, comma-separated.
func codeList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = report.Code(n)
	}
	return strings.Join(quoted, ", ")
}

// changeSetMarkdown is a sync's summary and a table of the objects that
// changed or failed; unchanged objects are only counted, so a large app's
// comment stays readable.
func changeSetMarkdown(cs *syncer.ChangeSet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**: %s\n", report.Escape(cs.App), cs.Summary())
	var rows []syncer.Change
	for _, c := range cs.Changes {
		if c.Action != syncer.Unchanged {
			rows = append(rows, c)
		}
	}
	if len(rows) == 0 {
		return b.String()
	}
	b.WriteString("\n| Action | Object | Message |\n|---|---|---|\n")
	for _, c := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", report.Escape(string(c.Action)), report.CodeCell(c.Key.String()), report.Escape(c.Error))
	}
	return b.String()
}

// lockedNotice tells a merged pull request that its sync waits for a lock.
func lockedNotice(env string, lock *envLock, waiting int) string {
	msg := fmt.Sprintf("ferry: %s is locked by %s", report.Code(env), report.Mention(lock.By))
	if lock.Reason != "" {
		msg += " (" + report.Escape(report.Clip(lock.Reason, maxReason)) + ")"
	}
	return msg + fmt.Sprintf(", so this change is queued (%d waiting). It syncs, in order, on %s.", waiting, report.Code("/ferry unlock "+env))
}
