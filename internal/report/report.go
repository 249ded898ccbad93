// Package report renders a preview for people and machines: the pull request
// comment (Markdown within GitHub's size limit), a terminal view and JSON.
// Every renderer treats names and diffs as untrusted text from the pull
// request: they are escaped for the output format and never able to break
// out of the block they are placed in.
package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/preview"
)

// totals summarises a whole preview.
type totals struct {
	envs, changedEnvs, errorEnvs int
	added, changed, removed      int
}

func summarize(r *preview.Result) totals {
	var t totals
	for _, e := range r.Environments {
		t.envs++
		switch e.Status {
		case preview.Changed:
			t.changedEnvs++
		case preview.Error:
			t.errorEnvs++
		}
		t.added += e.Counts.Added
		t.changed += e.Counts.Changed
		t.removed += e.Counts.Removed
	}
	return t
}

// summaryLine is the one-line verdict shared by the comment and the terminal.
func summaryLine(t totals) string {
	var s string
	if t.changedEnvs == 0 {
		s = "No changes"
	} else {
		verb := "change"
		if t.changedEnvs == 1 {
			verb = "changes"
		}
		s = fmt.Sprintf("%d of %s %s: %s resources", t.changedEnvs, plural(t.envs, "environment"), verb, countsText(t.added, t.changed, t.removed))
	}
	if t.errorEnvs > 0 {
		s += fmt.Sprintf(" · %d of %s failed to render", t.errorEnvs, plural(t.envs, "environment"))
	}
	return s
}

func countsText(added, changed, removed int) string {
	return fmt.Sprintf("+%d ~%d -%d", added, changed, removed)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// shownChanges drops unchanged resources, which are counted, not listed,
// and puts sync hooks last.
func shownChanges(e *preview.EnvironmentResult) []diff.Change {
	out := make([]diff.Change, 0, len(e.Resources))
	for _, c := range e.Resources {
		if c.Change != diff.Unchanged {
			out = append(out, c)
		}
	}
	// Sync hooks after the resources they guard, apart.
	slices.SortStableFunc(out, func(a, b diff.Change) int { return cmp.Compare(hookRank(a), hookRank(b)) })
	return out
}

// resourceLabel names a resource the way reviewers read it:
// "apps/Deployment production/payment-service", "Namespace production".
func resourceLabel(k manifest.Key) string {
	kind := k.Kind
	if k.Group != "" {
		kind = k.Group + "/" + k.Kind
	}
	if k.Namespace != "" {
		return kind + " " + k.Namespace + "/" + k.Name
	}
	return kind + " " + k.Name
}

func changeSymbol(c diff.ChangeType) string {
	switch c {
	case diff.Added:
		return "+"
	case diff.Removed:
		return "-"
	}
	return "~"
}

// secretKeysText lists which Secret keys moved, e.g. "keys changed:
// password, token; added: api-key", or "" when no value did. quote formats
// one key name.
func secretKeysText(k *diff.SecretKeys, quote func(string) string) string {
	var parts []string
	for _, p := range []struct {
		what string
		keys []string
	}{{"added", k.Added}, {"changed", k.Changed}, {"removed", k.Removed}} {
		if len(p.keys) == 0 {
			continue
		}
		names := make([]string, len(p.keys))
		for i, n := range p.keys {
			names[i] = quote(n)
		}
		parts = append(parts, p.what+": "+strings.Join(names, ", "))
	}
	if len(parts) == 0 {
		return ""
	}
	return "keys " + strings.Join(parts, "; ")
}

// errorText is an environment's render error, led by file:line when known
// and not already part of the message.
func errorText(e *preview.EnvironmentResult) string {
	msg := e.Error
	if msg == "" {
		msg = "render failed"
	}
	if e.ErrorFile == "" {
		return msg
	}
	loc := e.ErrorFile
	if e.ErrorLine > 0 {
		loc = fmt.Sprintf("%s:%d", e.ErrorFile, e.ErrorLine)
	}
	if strings.HasPrefix(msg, loc) {
		return msg
	}
	return loc + ": " + msg
}
