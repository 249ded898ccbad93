package report

import (
	"strings"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/syncer"
	"github.com/ferry-gitops/ferry/internal/synchook"
)

// hooksHeading opens an environment's sync hooks in the comment.
const hooksHeading = "**Sync hooks** — run by the sync in their phase, not kept or pruned as resources:\n\n"

// hookRank orders an environment's changes: resources, then hooks by the
// phase they run in first (PreSync, Sync, PostSync, SyncFail), then those
// never applied.
func hookRank(c diff.Change) int {
	if c.Hook == "" {
		return 0
	}
	first, _, _ := strings.Cut(c.Hook, ", ")
	for i, p := range synchook.Phases() {
		if string(p) == first {
			return 1 + i
		}
	}
	return 1 + len(synchook.Phases())
}

// hookNote says what a hook's change is, after its label: " — PreSync
// hook", " — Skip: never applied"; "" for a resource.
func hookNote(c diff.Change) string {
	switch c.Hook {
	case "":
		return ""
	case "Skip":
		return " — Skip: never applied"
	case "not run":
		return " — hook of no phase Argo CD runs: never applied"
	}
	// The phases are synchook's names, never the pull request's text.
	return " — " + c.Hook + " hook"
}

// syncAction is a sync change's action as the sync comment shows it: a
// hook's with its phase, "hook-succeeded (PreSync)".
func syncAction(c syncer.Change) string {
	if c.Hook == "" {
		return string(c.Action)
	}
	return string(c.Action) + " (" + string(c.Hook) + ")"
}
