package report

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/health"
	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/mdtest"
	"github.com/ferry-gitops/ferry/internal/syncer"
	"github.com/ferry-gitops/ferry/internal/synchook"
)

// Inputs shared by the tests of what ferry posts.
var (
	postTime = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	sha      = strings.Repeat("a", 40)
	sha2     = "0123456789abcdef0123456789abcdef01234567"
	evilKey  = manifest.Key{Kind: "ConfigMap", Namespace: "ns", Name: evilObject}
	depKey   = manifest.Key{Group: "apps", Kind: "Deployment", Namespace: "prod", Name: "api"}
	svcKey   = manifest.Key{Kind: "Service", Namespace: "prod", Name: "api"}
	oldKey   = manifest.Key{Kind: "ConfigMap", Namespace: "prod", Name: "old"}
	nsKey    = manifest.Key{Kind: "Namespace", Name: "prod"}
	jobKey   = manifest.Key{Group: "batch", Kind: "Job", Namespace: "prod", Name: "migrate"}
	// evilSync failed with a hostile error, hostile objects and reasons.
	evilSync = SyncResult{
		Environment: evilName,
		Record:      history.Sync{Revision: sha, Result: history.Failed, Error: evilError, Started: postTime, Finished: postTime.Add(2 * time.Second)},
		Changes: &syncer.ChangeSet{App: evilName, Changes: []syncer.Change{
			{Key: evilKey, Action: syncer.Failed, Error: evilReason},
			{Key: manifest.Key{Kind: "Namespace", Name: "ns"}, Action: syncer.Unchanged},
		}},
		Unhealthy: []syncer.ResourceHealth{{Key: evilKey, Status: health.Status{Code: health.Degraded, Message: evilReason}}},
	}
	okRecord  = history.Sync{Revision: sha2, Result: history.Succeeded, Started: postTime, Finished: postTime.Add(1500 * time.Millisecond)}
	okChanges = &syncer.ChangeSet{App: "prod", Changes: []syncer.Change{
		{Key: depKey, Action: syncer.Configured}, {Key: svcKey, Action: syncer.Created}, {Key: oldKey, Action: syncer.Pruned}, {Key: nsKey, Action: syncer.Unchanged},
	}}
	degRecord = history.Sync{Revision: sha2, Result: history.Degraded, Error: "timed out waiting for health", Started: postTime, Finished: postTime.Add(5 * time.Minute)}
	degHealth = []syncer.ResourceHealth{
		{Key: svcKey, Status: health.Status{Code: health.Healthy}},
		{Key: depKey, Status: health.Status{Code: health.Degraded, Message: "CrashLoopBackOff"}},
		{Key: oldKey, Status: health.Status{Code: health.Progressing, Message: "waiting"}},
	}
	revertURL = "https://github.com/acme/infra/pull/12"
)

func TestSyncPosts(t *testing.T) {
	evilSyncNote := evilSync
	evilSyncNote.RevertNote = RevertNotOpened(errors.New(evilError))
	checkPosts(t, []post{
		{
			name:  "sync-comment",
			md:    SyncComment(evilSyncNote),
			allow: mdtest.Allow{Headings: []string{"ferry sync: ❌ " + evilName + " failed"}},
			shows: []string{evilError, shown(evilReason), evilObject},
		},
		{
			name:  "sync-comment-succeeded",
			md:    SyncComment(SyncResult{Environment: "prod", Record: okRecord, Changes: okChanges}),
			allow: mdtest.Allow{Headings: []string{"ferry sync: ✅ prod succeeded"}},
		},
		{
			name: "sync-comment-hooks",
			md: SyncComment(SyncResult{Environment: "prod", Record: okRecord, Changes: &syncer.ChangeSet{App: "prod", Changes: []syncer.Change{
				{Key: jobKey, Action: syncer.HookCreated, Hook: synchook.PreSync},
				{Key: jobKey, Action: syncer.HookSucceeded, Hook: synchook.PreSync},
				{Key: jobKey, Action: syncer.HookDeleted, Hook: synchook.PreSync},
				{Key: depKey, Action: syncer.Configured},
			}}}),
			allow: mdtest.Allow{Headings: []string{"ferry sync: ✅ prod succeeded"}},
			shows: []string{"hook-succeeded (PreSync)"},
		},
		{
			name: "sync-comment-unchanged",
			md: SyncComment(SyncResult{Environment: "prod", Record: okRecord,
				Changes: &syncer.ChangeSet{App: "prod", Changes: []syncer.Change{{Key: nsKey, Action: syncer.Unchanged}}}}),
			allow: mdtest.Allow{Headings: []string{"ferry sync: ✅ prod succeeded"}},
		},
		{
			name: "sync-comment-degraded",
			md: SyncComment(SyncResult{Environment: "prod", Record: degRecord, Changes: okChanges, Unhealthy: degHealth,
				RevertNote: RevertOpened(12, revertURL)}),
			allow: mdtest.Allow{Headings: []string{"ferry sync: ❌ prod degraded"}, Mentions: []string{"#12"}},
			links: []string{revertURL},
		},
		{
			name: "sync-comment-refused",
			md: SyncComment(SyncResult{Environment: "prod",
				Record: history.Sync{Revision: sha2, Result: history.Refused, Error: "refusing to prune 3 of 4 objects", Started: postTime, Finished: postTime.Add(20 * time.Millisecond)}}),
			allow: mdtest.Allow{Headings: []string{"ferry sync: ⛔ prod refused"}},
		},
		{
			name:  "sync-comment-unknown-result",
			md:    SyncComment(SyncResult{Environment: "prod", Record: history.Sync{Revision: "abc", Result: "odd", Started: postTime, Finished: postTime}}),
			allow: mdtest.Allow{Headings: []string{"ferry sync:  prod odd"}},
		},
		{
			name:  "revert-body",
			md:    RevertBody(Revert{Environment: evilName, Record: evilSync.Record, Unhealthy: evilSync.Unhealthy}),
			shows: []string{evilError, evilName, shown(evilReason)},
		},
		{
			name:  "revert-body-pr",
			md:    RevertBody(Revert{Environment: "prod", Record: degRecord, PR: 7, Unhealthy: degHealth}),
			allow: mdtest.Allow{Mentions: []string{"#7"}},
		},
		{
			name: "revert-notes",
			md: strings.Join([]string{
				RevertAlreadyOpen(revertURL),
				RevertNotOpened(errors.New(evilError)),
				RevertConflict(sha, evilName),
				RevertNotPushed(errors.New(evilError)),
				RevertPRNotOpened("ferry/revert-"+evilName, errors.New(evilError)),
				RevertOpened(12, revertURL),
			}, "\n") + "\n",
			allow: mdtest.Allow{Mentions: []string{"#12"}},
			shows: []string{shown(evilError), evilName, "ferry/revert-" + evilName},
			links: []string{revertURL, revertURL},
		},
		{
			name:  "degraded-comment",
			md:    DegradedComment(evilName, "degraded after a successful sync: "+evilError, RevertOpened(12, revertURL)),
			allow: mdtest.Allow{Headings: []string{"ferry: ❌ " + evilName + " degraded after its sync"}, Mentions: []string{"#12"}},
			shows: []string{evilError},
			links: []string{revertURL},
		},
		{
			name:  "locked-notice",
			md:    LockedNotice(evilName, "writer", evilReason, 2),
			allow: mdtest.Allow{Mentions: []string{"@writer"}},
			shows: []string{evilName, shown(evilReason), "/ferry unlock " + evilName},
		},
		{
			// Not a login: shown, not mentioned.
			name:  "locked-notice-plain",
			md:    LockedNotice("prod", "not a login`", "", 1),
			shows: []string{"not a login`"},
		},
		{
			name:  "locked-notice-long",
			md:    LockedNotice("prod", "writer", strings.Repeat("freeze ", 60), 3),
			allow: mdtest.Allow{Mentions: []string{"@writer"}},
			shows: []string{strings.Repeat("freeze ", 28) + "fre…"},
		},
		{
			name:  "cluster-wait-notice",
			md:    ClusterWaitNotice(evilName, evilError),
			shows: []string{evilName, shown(evilError)},
		},
		{
			name:  "cluster-wait-notice-long",
			md:    ClusterWaitNotice("production", "Internal error occurred: failed calling webhook: "+strings.Repeat("x", 400)),
			shows: []string{"Internal error occurred: failed calling webhook: " + strings.Repeat("x", 250) + "…"},
		},
		{
			name: "manual-sync-one",
			md:   ManualSyncNotice([]string{"staging"}),
		},
		{
			name:  "manual-sync-many",
			md:    ManualSyncNotice([]string{"staging", evilName, "a|b"}),
			shows: []string{evilName, "a|b"},
		},
	})
}

func TestClusterWaitStatus(t *testing.T) {
	for _, tt := range []struct {
		reason string
		retry  time.Duration
		want   string
	}{
		{"connection refused", 40 * time.Second, "waiting for the cluster, retrying in 40s: connection refused"},
		{"connection refused", 2 * time.Minute, "waiting for the cluster, retrying in 2m: connection refused"},
		{"connection refused", 80 * time.Second, "waiting for the cluster, retrying in 1m20s: connection refused"},
		{"a\nb", 1500 * time.Millisecond, "waiting for the cluster, retrying in 2s: a b"},
		{strings.Repeat("x", 200), 5 * time.Second, "waiting for the cluster, retrying in 5s: " + strings.Repeat("x", 96) + "…"},
		{strings.Repeat("é", 200), 5 * time.Second, "waiting for the cluster, retrying in 5s: " + strings.Repeat("é", 48) + "…"},
	} {
		got := ClusterWaitStatus(tt.reason, tt.retry)
		if got != tt.want {
			t.Errorf("ClusterWaitStatus(%q, %v) = %q, want %q", tt.reason, tt.retry, got, tt.want)
		}
		if n := len(got); n > maxDeploymentStatus {
			t.Errorf("ClusterWaitStatus(%q, %v) has %d bytes, more than the client sends unclipped", tt.reason, tt.retry, n)
		}
	}
}

func TestCodeList(t *testing.T) {
	tests := []struct {
		names []string
		want  string
	}{
		{nil, ""},
		{[]string{"prod"}, "`prod`"},
		{[]string{"prod", "a`b", "@x"}, "`prod`, ``a`b``, `@\u200bx`"},
	}
	for _, tt := range tests {
		if got := codeList(tt.names); got != tt.want {
			t.Errorf("codeList(%q) = %q, want %q", tt.names, got, tt.want)
		}
	}
}
