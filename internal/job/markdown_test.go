package job

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/chatops"
	"github.com/ferry-gitops/ferry/internal/drift"
	"github.com/ferry-gitops/ferry/internal/health"
	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/mdtest"
	"github.com/ferry-gitops/ferry/internal/policy"
	"github.com/ferry-gitops/ferry/internal/report"
	"github.com/ferry-gitops/ferry/internal/secrets"
	"github.com/ferry-gitops/ferry/internal/syncer"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

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

// TestMarkdownNeutralisesHostileText renders every markdown ferry posts
// from job handlers with hostile names, reasons and errors, and reads it
// as GitHub would: only ferry's own headings and mentions, no links,
// images, HTML or comments, and the hostile text shown as written.
func TestMarkdownNeutralisesHostileText(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	obj := manifest.Key{Kind: "ConfigMap", Namespace: "ns", Name: evilObject}
	rec := &history.Sync{Revision: strings.Repeat("a", 40), Result: history.Failed, Error: evilError, Started: at, Finished: at.Add(2 * time.Second)}
	outcome := syncOutcome{
		changes: &syncer.ChangeSet{App: evilName, Changes: []syncer.Change{
			{Key: obj, Action: syncer.Failed, Error: evilReason},
			{Key: manifest.Key{Kind: "Namespace", Name: "ns"}, Action: syncer.Unchanged},
		}},
		unhealthy: []syncer.ResourceHealth{{Key: obj, Status: health.Status{Code: health.Degraded, Message: evilReason}}},
	}
	tests := []struct {
		name  string
		md    string
		allow mdtest.Allow
		shows []string // hostile text that must read as written
	}{
		{
			name:  "sync-comment",
			md:    syncComment(evilName, rec, outcome, "ferry could not open a revert pull request: "+report.Escape(evilError)),
			allow: mdtest.Allow{Headings: []string{"ferry sync: ❌ " + evilName + " failed"}},
			shows: []string{evilError, shown(evilReason), evilObject},
		},
		{
			name:  "revert-body",
			md:    revertBody(SyncArgs{Environment: evilName, Commit: rec.Revision}, rec, outcome),
			shows: []string{evilError, evilName, shown(evilReason)},
		},
		{
			name: "drift-issue",
			md: driftIssueBody(drift.Event{App: evilName, Key: obj, Kind: drift.Modified, Fields: []string{"data.a|b", "data.@org/team"},
				Managers: []string{"kubectl @org/team", "x|y"}, Time: at, Live: map[string]any{"data.x": evilReason}, Want: map[string]any{"data.x": "v"}},
				SyncArgs{Environment: evilName, Commit: rec.Revision}),
			shows: []string{evilName, evilObject, "data.@org/team", "kubectl @org/team", "x|y"},
		},
		{
			name: "policy",
			md: policyMarkdown(&verdict{
				decision: &policy.Decision{Status: []policy.EnvironmentStatus{{Environment: evilName, Needed: 2, Teams: []string{"org/sre|x"}, Have: []string{"alice", "not a login`"}, Missing: 1}},
					Summary: "denied: " + evilReason + "\n" + evilName + " needs 1 more approval; @bob's approval doesn't count (author)"},
				findings: []secrets.Finding{
					{RuleID: "aws`x", File: "a/`b`.yaml", Line: 3, Fingerprint: "fp@org/team"},
					{RuleID: "github-pat", Resource: evilObject, Source: "rendered:" + evilName, Fingerprint: "f2"},
				},
			}),
			// Approvers are GitHub logins: they are mentioned, nobody else.
			allow: mdtest.Allow{Headings: []string{"Policy: ❌ blocked"}, Mentions: []string{"@alice"}},
			// The summary keeps its lines, each one plain text.
			shows: []string{evilName, "not a login`", "#### Policy: ✅ ready to merge", "@org/team fixes #12 [ok](https://evil.example)", "@bob's approval", "a/`b`.yaml:3", evilObject},
		},
		{
			name:  "locked-notice",
			md:    lockedNotice(evilName, &envLock{By: "writer", Reason: evilReason}, 2),
			allow: mdtest.Allow{Mentions: []string{"@writer"}},
			shows: []string{evilName, shown(evilReason), "/ferry unlock " + evilName},
		},
		{
			name: "history",
			md: history.Markdown(evilName, []history.Sync{{ID: 3, Revision: rec.Revision, Result: evilName, Trigger: evilReason, Merger: "octocat", Started: at},
				{ID: 2, Revision: rec.Revision, Result: history.Succeeded, Trigger: "merge", Merger: "not a login`", Started: at}}),
			// Anyone may ask for the table: mergers are named, not mentioned.
			allow: mdtest.Allow{Headings: []string{"Sync history of " + evilName}},
			shows: []string{"@octocat", shown(evilReason), "not a login`"},
		},
		{
			name:  "rollback-refusal",
			md:    refusalText(pickRevision([]history.Sync{{ID: 1, Revision: "abc", Result: history.Succeeded}}, chatops.Command{Name: chatops.RollbackCmd, Env: evilName, Revision: "#9"})),
			shows: []string{evilName, "#9", "/ferry history " + evilName},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mdtest.Inert(t, tt.md, tt.allow)
			all := d.Text + "\n" + d.Code
			for _, s := range tt.shows {
				if !strings.Contains(all, s) {
					t.Errorf("does not show %q as written; shows:\n%s", s, all)
				}
			}
			mdtest.Golden(t, tt.name+".md.golden", []byte(tt.md), *update)
		})
	}
}

func refusalText(_ history.Sync, err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
