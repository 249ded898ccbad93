package job

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/deploy"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/health"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/syncer"
	"github.com/ferry-gitops/ferry/internal/work"
)

// TestRevertsHandle: a commit whose rollout degraded gets one revert pull
// request (a redelivery finds it open), an audit event and a comment on the
// pull request that merged it.
func TestRevertsHandle(t *testing.T) {
	f := newFixtureWith(t, map[string]string{"apps/demo.yaml": demoApp, "demo/settings.yaml": demoConfigMap("blue")})
	ctx := context.Background()
	bad := f.git.Commit(t, repoName, "main", map[string]string{"demo/settings.yaml": demoConfigMap("red")}, "red mode")
	f.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: 5, Merged: true, MergeCommitSHA: bad})
	h := &Reverts{Repos: f.repos, DB: f.db, Logger: f.log}
	a := work.Revert{Sync: work.Sync{Repo: f.repo, Branch: "main", Commit: bad, Environment: "demo", Trigger: work.TriggerMerge, PR: 5}, Reason: "degraded after a successful sync: Deployment demo/web: Degraded crash loop"}
	for range 2 {
		if err := h.Handle(ctx, f.job(a.Spec())); err != nil {
			t.Fatal(err)
		}
	}
	prs := f.gh.PullRequests(owner, repoName)
	var reverts []githubtest.PullRequest
	for _, pr := range prs {
		if strings.HasPrefix(pr.HeadRef, "ferry/revert-") {
			reverts = append(reverts, pr)
		}
	}
	if len(reverts) != 1 || reverts[0].HeadRef != "ferry/revert-"+bad[:12] || !strings.Contains(reverts[0].Body, "crash loop") {
		t.Fatalf("revert pull requests %+v", reverts)
	}
	if got := f.file(reverts[0].HeadRef, "demo/settings.yaml"); got != demoConfigMap("blue") {
		t.Errorf("the revert branch holds %q", got)
	}
	comments := f.gh.Comments(owner, repoName, 5)
	if len(comments) != 2 || !strings.Contains(comments[0].Body, "degraded") || !strings.Contains(comments[1].Body, "already open") {
		t.Errorf("comments %+v", comments)
	}
	if events, err := f.db.Audit(ctx, f.repo.FullName, "demo"); err != nil || len(events) != 2 || events[0].Kind != "degraded" {
		t.Errorf("audit %+v (%v)", events, err)
	}
}

// TestRolloutsResume: a degradation window stored before a restart (or by
// another replica) is watched by the next leader from where it was.
func TestRolloutsResume(t *testing.T) {
	f := newFixtureWith(t, map[string]string{"README.md": "x\n"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cluster := func(environment.Destination) (deploy.Cluster, error) {
		return degrading{after: time.Now().Add(100 * time.Millisecond)}, nil
	}
	keys := []manifest.Key{{Group: "apps", Kind: "Deployment", Namespace: "demo", Name: "web"}}
	synced := work.Sync{Repo: f.repo, Branch: "main", Commit: "abc", Environment: "demo", Trigger: work.TriggerMerge}
	before := NewRollouts(f.db, f.db, cluster, f.log) // the replica that synced, never leading
	if err := before.Watch(ctx, Rollout{Sync: synced, Keys: keys, Window: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := before.Watch(ctx, Rollout{Sync: synced, Keys: keys, Window: time.Minute}); err != nil {
		t.Fatal("a second Watch with nobody running blocks or fails:", err)
	}
	leader := NewRollouts(f.db, f.db, cluster, f.log)
	leader.Poll = 20 * time.Millisecond
	go leader.Run(ctx)
	// The revert is queued, then the watch ended (a crash in between queues
	// the revert again, which the store's revert record makes harmless).
	watching := func() int {
		left, err := f.db.Watches(ctx, rolloutWatch, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return len(left)
	}
	deadline := time.Now().Add(10 * time.Second)
	for (len(f.queued(work.KindRevert)) == 0 || watching() != 0) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(f.queued(work.KindRevert)); n != 1 {
		t.Fatalf("%d reverts queued by the new leader, want 1", n)
	}
	if n := watching(); n != 0 {
		t.Errorf("the degraded rollout's watch is still stored (%d)", n)
	}
}

// degrading is a cluster whose rollout turns Degraded after a while.
type degrading struct{ after time.Time }

func (degrading) Sync(context.Context, []manifest.Object, syncer.Inventory, syncer.Options) (*syncer.ChangeSet, syncer.Inventory, error) {
	return nil, nil, errors.New("not used")
}

func (d degrading) WaitHealthy(_ context.Context, keys []manifest.Key, _ time.Duration) (syncer.HealthReport, error) {
	if time.Now().Before(d.after) {
		return syncer.HealthReport{}, nil
	}
	return syncer.HealthReport{Resources: []syncer.ResourceHealth{{Key: keys[0], Status: health.Status{Code: health.Degraded, Message: "crash loop"}}}}, syncer.ErrDegraded
}

// TestRolloutsQueueTheRevert: a rollout that turns Degraded within its
// window queues its commit's revert; a newer sync of the environment ends
// the older one's watch.
func TestRolloutsQueueTheRevert(t *testing.T) {
	f := newFixtureWith(t, map[string]string{"README.md": "x\n"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The destination's namespace picks the fake cluster of each sync.
	clusters := map[string]degrading{"old": {after: time.Now().Add(100 * time.Millisecond)}, "new": {after: time.Now().Add(300 * time.Millisecond)}}
	w := NewRollouts(f.db, f.db, func(d environment.Destination) (deploy.Cluster, error) { return clusters[d.Namespace], nil }, f.log)
	w.Poll = 20 * time.Millisecond
	go w.Run(ctx)
	keys := []manifest.Key{{Group: "apps", Kind: "Deployment", Namespace: "demo", Name: "web"}}
	sync := func(commit string) work.Sync {
		return work.Sync{Repo: f.repo, Branch: "main", Commit: commit, Environment: "demo", Trigger: work.TriggerMerge}
	}
	// Both degrade; the older sync's watch has ended by then.
	for _, commit := range []string{"old", "new"} {
		if err := w.Watch(ctx, Rollout{Sync: sync(commit), Destination: environment.Destination{Namespace: commit}, Keys: keys, Window: time.Minute}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(f.queued(work.KindRevert)) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // room for a wrong second revert
	queued := f.queued(work.KindRevert)
	if len(queued) != 1 {
		t.Fatalf("%d reverts queued, want 1", len(queued))
	}
	var r work.Revert
	if err := json.Unmarshal(queued[0].Args, &r); err != nil || r.Commit != "new" || !strings.Contains(r.Reason, "crash loop") {
		t.Errorf("queued revert %+v (%v)", r, err)
	}
}
