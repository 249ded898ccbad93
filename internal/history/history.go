// Package history is ferry's record of what it did to clusters: one entry
// per sync, kept to the environment's revisionHistoryLimit for rollback, and
// an append-only audit log of every sync, drift, heal, lock and revert. It
// holds resource names and outcomes, never manifest content or secrets.
package history

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// DefaultLimit is Argo CD's default revisionHistoryLimit.
const DefaultLimit = 10

// Results of a sync.
const (
	Succeeded = "succeeded"
	Failed    = "failed"
	Degraded  = "degraded"
	Refused   = "refused" // a guard (allowEmpty, max prune) stopped it
)

// Sync is one sync of one environment.
type Sync struct {
	ID          int64     `json:"id"`
	Repo        string    `json:"repo,omitempty"` // owner/name
	Environment string    `json:"environment"`
	Revision    string    `json:"revision"`
	PR          int       `json:"pr,omitempty"`
	PRTitle     string    `json:"pr_title,omitempty"`
	Author      string    `json:"author,omitempty"`
	Merger      string    `json:"merger,omitempty"`
	Approvers   []string  `json:"approvers,omitempty"`
	Trigger     string    `json:"trigger"` // merge, manual, first-sight, self-heal, rollback
	Started     time.Time `json:"started"`
	Finished    time.Time `json:"finished"`
	Result      string    `json:"result"`
	Applied     []string  `json:"applied,omitempty"` // "configured apps/Deployment/ns/name"
	Pruned      []string  `json:"pruned,omitempty"`
	Error       string    `json:"error,omitempty"`
}

// Event is one line of the audit log.
type Event struct {
	ID          int64     `json:"id"`
	Time        time.Time `json:"time"`
	Repo        string    `json:"repo,omitempty"` // owner/name
	Environment string    `json:"environment"`
	Kind        string    `json:"kind"` // sync, drift, heal, lock, unlock, revert, rollback
	Actor       string    `json:"actor,omitempty"`
	Revision    string    `json:"revision,omitempty"`
	Detail      string    `json:"detail"`
}

// WriteTable prints syncs newest first for a terminal.
func WriteTable(w io.Writer, syncs []Sync) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTARTED\tREVISION\tPR\tRESULT\tTRIGGER\tBY\tDURATION\tERROR")
	for _, s := range syncs {
		pr := "-"
		if s.PR != 0 {
			pr = fmt.Sprintf("#%d", s.PR)
		}
		by := s.Merger
		if by == "" {
			by = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Started.UTC().Format(time.RFC3339), short(s.Revision), pr, s.Result, s.Trigger, by,
			s.Finished.Sub(s.Started).Round(time.Millisecond), oneLine(s.Error))
	}
	return tw.Flush()
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
