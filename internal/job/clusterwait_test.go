package job

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/syncer"
)

// TestSyncsWaitForTheCluster: a merge the cluster cannot take (its API
// server refuses connections) waits for it, more runs than the
// Application's retry limit allows, without recording, failing or
// reverting anything; the pull request is told once, the deployment at
// every try; once the cluster is back, the merge syncs.
func TestSyncsWaitForTheCluster(t *testing.T) {
	f, h := newSyncFixture(t)
	ctx := context.Background()
	up := h.Clusters
	down, err := kube.NewCluster(&rest.Config{Host: "https://127.0.0.1:1"}) // nothing listens on port 1
	if err != nil {
		t.Fatal(err)
	}
	h.Clusters = func(environment.Destination) (*kube.Cluster, error) { return down, nil }
	head := f.head("main")
	f.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: 4, Title: "Blue mode", User: "alice", Merged: true, MergeCommitSHA: head})
	j := f.syncJob(head, 4)

	const waits = 5 // the demo Application retries twice
	for n := range waits {
		j.Attempts, j.Waits = n+1, n
		err := h.Handle(ctx, j)
		if !queue.IsWait(err) || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("run %d: %v, want a queue.Wait for the refused connection", n+1, err)
		}
	}
	if logs := f.logs.String(); !strings.Contains(logs, "wait=5s") || !strings.Contains(logs, "wait=1m20s") {
		t.Errorf("the waits do not back off 5s … 1m20s:\n%s", logs)
	}
	if syncs, err := f.db.Syncs(ctx, f.repo.FullName, "demo"); err != nil || len(syncs) != 0 {
		t.Errorf("history %+v (%v): nothing is recorded while the sync waits", syncs, err)
	}
	if run, _, _ := f.db.SyncRun(ctx, f.repo.FullName, "demo", head); run.Attempts != 0 {
		t.Errorf("the sync run counts %d attempts: an outage must not use up the retry limit", run.Attempts)
	}
	deps := f.gh.Deployments(owner, repoName)
	if len(deps) != 1 || len(deps[0].Statuses) != 1+waits {
		t.Fatalf("deployments %+v, want one, in progress then a status per wait", deps)
	}
	for _, st := range deps[0].Statuses[1:] {
		if st.State != "queued" || !strings.HasPrefix(st.Description, "waiting for the cluster, retrying in ") || !strings.HasSuffix(st.Description, "connection refused") {
			t.Errorf("status %s %q, want queued, waiting for the cluster", st.State, st.Description)
		}
	}
	notices := 0
	for _, c := range f.gh.Comments(owner, repoName, 4) {
		if strings.Contains(c.Body, "waits for the cluster") {
			notices++
		}
	}
	if notices != 1 {
		t.Errorf("%d notices of the wait on the pull request, want 1", notices)
	}

	h.Clusters = up
	j.Attempts, j.Waits = waits+1, waits
	if err := h.Handle(ctx, j); err != nil {
		t.Fatalf("the sync once the cluster is back: %v", err)
	}
	syncs, _ := f.db.Syncs(ctx, f.repo.FullName, "demo")
	if len(syncs) != 1 || syncs[0].Result != history.Succeeded {
		t.Errorf("history %+v, want one successful sync", syncs)
	}
	if deps := f.gh.Deployments(owner, repoName); last(deps[0].Statuses) != "success" {
		t.Errorf("deployment statuses %+v, want ending in success", deps[0].Statuses)
	}
	for _, pr := range f.gh.PullRequests(owner, repoName) {
		if strings.HasPrefix(pr.HeadRef, "ferry/revert-") {
			t.Errorf("revert pull request %s opened for an outage", pr.HeadRef)
		}
	}
}

// TestClusterReason: what a waiting sync shows of the cluster's answer is
// short, on one line and masked.
func TestClusterReason(t *testing.T) {
	key := manifest.Key{Group: "apps", Kind: "Deployment", Namespace: "production", Name: "payment-service"}
	refused := &url.Error{Op: "Patch", URL: "https://10.0.0.1:6443/apis/apps/v1/namespaces/production/deployments/payment-service",
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	webhook := apierrors.NewInternalError(errors.New(`failed calling webhook "check.ferry.test": live-token-1`))
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"failing webhook", &syncer.ApplyError{Errors: []*syncer.ObjectError{{Key: key, Err: webhook}}},
			`apps/Deployment/production/payment-service: Internal error occurred: failed calling webhook "check.ferry.test": (redacted: test)`},
		{"connection refused", fmt.Errorf("sync: %w", &syncer.ApplyError{Errors: []*syncer.ObjectError{{Key: key, Err: fmt.Errorf("read live object: %w", refused)}}}),
			"apps/Deployment/production/payment-service: dial tcp: connect: connection refused"},
		{"prune", &syncer.PruneError{Errors: []*syncer.ObjectError{{Key: key, Err: apierrors.NewServiceUnavailable("etcd leader changed")}}},
			"apps/Deployment/production/payment-service: etcd leader changed"},
		{"no object", errors.New("discovery: live-token-2\nsecond line"), "discovery: (redacted: test)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if object, reason := (&Syncs{Mask: tokenMasker{}}).clusterReason(tt.err); object+reason != tt.want {
				t.Errorf("clusterReason = %q, %q; want %q", object, reason, tt.want)
			}
		})
	}
}
