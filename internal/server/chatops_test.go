package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// command posts a comment as user on PR number and delivers its webhook.
func (h *harness) command(number int, user, body, delivery string) githubtest.Comment {
	h.t.Helper()
	c := h.gh.AddComment(owner, repoName, number, user, body)
	c.IsPullRequest = true
	payload := githubtest.IssueCommentPayload(h.t, "created", h.repo, c)
	if resp := githubtest.Deliver(h.t, h.url+"/webhook", testSecret, "issue_comment", payload, delivery); resp.StatusCode != http.StatusAccepted {
		h.t.Fatalf("comment delivery: status %d", resp.StatusCode)
	}
	return c
}

// reactions waits for the final reaction of a command comment and returns all of them.
func (h *harness) reactions(c githubtest.Comment) []string {
	h.t.Helper()
	var got []string
	h.waitFor("the command's final reaction", func() bool {
		got = got[:0]
		for _, r := range h.gh.Reactions(c.ID) {
			got = append(got, r.Content)
		}
		return len(got) >= 2
	})
	return got
}

// reply is the newest comment on the PR after c.
func (h *harness) reply(number int, after githubtest.Comment) string {
	h.t.Helper()
	comments := h.gh.Comments(owner, repoName, number)
	for i := len(comments) - 1; i >= 0; i-- {
		if comments[i].ID != after.ID && comments[i].User != after.User && comments[i].CreatedAt.After(after.CreatedAt.Add(-1)) {
			return comments[i].Body
		}
	}
	return ""
}

func TestChatOps(t *testing.T) {
	h := newHarness(t)
	h.gh.SetPermission(owner, repoName, "writer", "write")
	h.gh.SetPermission(owner, repoName, "reader", "read")
	pr := h.openPR(1, testrepo.Branch("image-bump-production"))
	tests := []struct {
		name, user, body string
		reaction         string
		reply            []string
	}{
		{"help for anyone", "reader", "/ferry help", "rocket", []string{"/ferry sync", "/ferry rollback", "write"}},
		{"typo gets did-you-mean", "writer", "/ferry snyc payment-service", "confused", []string{"Did you mean", "/ferry sync"}},
		{"unknown command gets the commands", "writer", "/ferry deploy-everything now", "confused", []string{"unknown command", "/ferry rollback ENV"}},
		{"sync needs write", "reader", "/ferry sync payment-service", "confused", []string{"@reader", "write access", "read"}},
		{"sync on an open PR: Git first", "writer", "/ferry sync payment-service", "confused", []string{"Git first", "merged pull request"}},
		{"history of a never-synced env", "reader", "/ferry history payment-service", "rocket", []string{"Sync history of `payment-service`", "No syncs yet"}},
		{"lock needs write", "reader", "/ferry lock payment-service freeze", "confused", []string{"write access"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := h.command(pr.Number, tt.user, tt.body, fmt.Sprintf("cmd-%d", i))
			got := h.reactions(c)
			if got[0] != "eyes" || got[len(got)-1] != tt.reaction {
				t.Errorf("reactions %v, want eyes then %s", got, tt.reaction)
			}
			reply := h.reply(pr.Number, c)
			for _, want := range tt.reply {
				if !strings.Contains(reply, want) {
					t.Errorf("reply lacks %q:\n%s", want, reply)
				}
			}
		})
	}

	// /ferry diff re-renders: the sticky comment appears (none before).
	c := h.command(pr.Number, "reader", "/ferry diff", "cmd-diff")
	h.reactions(c)
	h.waitFor("the diff comment", func() bool {
		for _, cm := range h.gh.Comments(owner, repoName, pr.Number) {
			if strings.Contains(cm.Body, "<!-- ferry:diff -->") {
				return true
			}
		}
		return false
	})

	// The same comment delivered twice runs once.
	before := len(h.gh.Comments(owner, repoName, pr.Number))
	c = h.command(pr.Number, "reader", "/ferry help", "cmd-twice")
	h.reactions(c)
	payload := githubtest.IssueCommentPayload(t, "created", h.repo, c)
	githubtest.Deliver(t, h.url+"/webhook", testSecret, "issue_comment", payload, "cmd-twice-again")
	h.stop()
	h.stop = nil
	if got := len(h.gh.Comments(owner, repoName, pr.Number)) - before; got != 2 {
		t.Errorf("%d new comments (the command and its replies), want 2: the command ran twice", got)
	}
}

// TestLockHistoryRollback: lock holds a merge, unlock syncs it, history
// lists both syncs, rollback opens a pull request holding the previous
// revision — against the real API server.
func TestLockHistoryRollback(t *testing.T) {
	h := newSyncHarness(t, "healthy")
	h.gh.SetPermission(owner, repoName, "writer", "write")
	// Every pushed commit comes from merged PR #7.
	merged := h.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: 7, HeadRef: "feature", BaseRef: "main", User: "alice", Merged: true, MergeCommitSHA: h.head})
	h.gh.Handle("repos/list-pull-requests-associated-with-commit", func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(r.URL.Path, "/")
		sha := parts[len(parts)-2]
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `[{"number": 7, "state": "closed", "merged_at": "2026-11-27T10:00:00Z", "merge_commit_sha": %q, "title": "scale", "user": {"login": "alice"}, "merged_by": {"login": "bob"}, "head": {"ref": "feature", "sha": %q}, "base": {"ref": "main", "sha": %q}}]`, sha, sha, sha)
	})
	first := h.head
	h.push(strings.Repeat("0", 40), first, "push-1")
	h.waitFor("the first sync", func() bool { return last(h.deploymentStates("payment-service")) == "success" })

	c := h.command(merged.Number, "writer", "/ferry lock payment-service change freeze", "lock")
	if got := h.reactions(c); got[len(got)-1] != "rocket" {
		t.Fatalf("lock reactions %v", got)
	}
	app := readFileAt(t, h.git.RepoPath(repoName), "main", "apps/payment-service.yaml")
	second := h.git.Commit(t, repoName, "main", map[string]string{"apps/payment-service.yaml": strings.Replace(app, "replicas: 3", "replicas: 5", 1)}, "scale to 5")
	h.push(first, second, "push-2")
	h.waitFor("the queued notice", func() bool {
		for _, cm := range h.gh.Comments(owner, repoName, merged.Number) {
			if strings.Contains(cm.Body, "is locked by @writer (change freeze)") && strings.Contains(cm.Body, "queued") {
				return true
			}
		}
		return false
	})
	replicas := func() int64 {
		r, _, _ := unstructured.NestedInt64(h.deployment("production", "payment-service").Object, "spec", "replicas")
		return r
	}
	if r := replicas(); r != 3 {
		t.Fatalf("a locked environment synced: replicas %d", r)
	}

	c = h.command(merged.Number, "writer", "/ferry unlock payment-service", "unlock")
	h.reactions(c)
	h.waitFor("the held sync after unlock", func() bool { return replicas() == 5 })

	h.waitFor("the second sync's record", func() bool {
		return strings.Count(strings.Join(h.deploymentStates("payment-service"), ","), "success") == 2
	})
	c = h.command(merged.Number, "writer", "/ferry history payment-service", "history")
	h.reactions(c)
	// Sync results are posted on the same PR as they finish: find the reply
	// by what it answers, not by its position.
	var table string
	for _, cm := range h.gh.Comments(owner, repoName, merged.Number) {
		if strings.Contains(cm.Body, "Sync history of `payment-service`") {
			table = cm.Body
		}
	}
	if !strings.Contains(table, first[:12]) || !strings.Contains(table, second[:12]) {
		t.Errorf("history reply lacks a revision:\n%s", table)
	}

	c = h.command(merged.Number, "writer", "/ferry rollback payment-service", "rollback")
	if got := h.reactions(c); got[len(got)-1] != "rocket" {
		t.Fatalf("rollback reactions %v; reply:\n%s", got, h.reply(merged.Number, c))
	}
	var rollback *githubtest.PullRequest
	for _, p := range h.gh.PullRequests(owner, repoName) {
		if strings.HasPrefix(p.HeadRef, "ferry/rollback-payment-service-") {
			p := p
			rollback = &p
		}
	}
	if rollback == nil {
		t.Fatalf("no rollback pull request; reply:\n%s", h.reply(merged.Number, c))
	}
	sha, err := h.git.RevParse(repoName, rollback.HeadRef)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFileAt(t, h.git.RepoPath(repoName), sha, "apps/payment-service.yaml"); got != app {
		t.Errorf("the rollback branch does not hold the first revision's Application")
	}
}
