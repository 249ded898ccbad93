package job

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/chatops"
	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/testrepo"
	"github.com/ferry-gitops/ferry/internal/work"
)

// TestCommandsHandle runs comments as their authors: what each is answered,
// how the comment is reacted to, and what is queued.
func TestCommandsHandle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	pr := f.openPR(2, testrepo.Branch(testrepo.ImageBumpProduction))
	f.gh.SetPermission(owner, repoName, "writer", "write")
	f.gh.SetPermission(owner, repoName, "reader", "read")
	h := &Commands{Repos: f.repos, DB: f.db, Queue: f.db, Logger: f.log}
	tests := []struct {
		name, user, body string
		reply            string // the reply contains this ("" = no reply)
		final            string // the last reaction
		queued           string // a job of this kind is queued
	}{
		{"help by a reader", "reader", "/ferry help", "/ferry diff", "rocket", ""},
		{"typo", "reader", "/ferry hlep", "Did you mean", "confused", ""},
		{"lock by a reader", "reader", "/ferry lock payment-service-production", "needs write", "confused", ""},
		{"diff by a reader", "reader", "/ferry diff", "", "rocket", work.KindPreview},
		{"sync of an open pull request", "writer", "/ferry sync payment-service-production", "merged pull request", "confused", ""},
		{"lock", "writer", "/ferry lock payment-service-production release freeze", "is locked", "rocket", ""},
		{"unlock", "writer", "/ferry unlock payment-service-production", "is unlocked", "rocket", work.KindRelease},
		{"history", "reader", "/ferry history payment-service-production", "payment-service-production", "rocket", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.gh.Comments(owner, repoName, pr.Number))
			c := f.gh.AddComment(owner, repoName, pr.Number, tt.user, tt.body)
			cmds, errs := chatops.Parse(tt.body)
			j := f.job(work.Command{Repo: f.repo, Number: pr.Number, CommentID: c.ID, Author: tt.user, Commands: cmds, Errors: errs}.Spec())
			for range 2 { // a redelivery runs nothing twice
				if err := h.Handle(ctx, j); err != nil {
					t.Fatal(err)
				}
			}
			comments := f.gh.Comments(owner, repoName, pr.Number)
			replies := comments[before+1:]
			switch {
			case tt.reply == "" && len(replies) != 0:
				t.Errorf("unexpected replies %+v", replies)
			case tt.reply != "" && (len(replies) != 1 || !strings.Contains(replies[0].Body, tt.reply)):
				t.Errorf("replies %+v, want one containing %q", replies, tt.reply)
			}
			reactions := f.gh.Reactions(c.ID)
			if len(reactions) != 2 || reactions[0].Content != "eyes" || reactions[1].Content != tt.final {
				t.Errorf("reactions %+v, want eyes then %s", reactions, tt.final)
			}
			if tt.queued != "" && len(f.queued(tt.queued)) == 0 {
				t.Errorf("no %s job queued", tt.queued)
			}
		})
	}
	if lock, err := f.db.Lock(ctx, f.repo.FullName, "payment-service-production"); err != nil || lock == nil || lock.By != "writer" || lock.Reason != "release freeze" {
		t.Errorf("lock %+v (%v)", lock, err)
	}
}

// TestCommandsSyncTheTip: /ferry sync on an older merged pull request
// syncs the tip of the environment's branch, never that pull request's
// older merge commit.
func TestCommandsSyncTheTip(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.gh.SetPermission(owner, repoName, "writer", "write")
	first := f.git.Commit(t, repoName, "main", map[string]string{"docs/one.md": "1\n"}, "PR 1")
	f.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: 1, Merged: true, MergeCommitSHA: first})
	second := f.git.Commit(t, repoName, "main", map[string]string{"docs/two.md": "2\n"}, "PR 2")
	h := &Commands{Repos: f.repos, DB: f.db, Queue: f.db, Logger: f.log}
	for _, tt := range []struct{ env, reply string }{
		{"payment-service-production", "to the tip of `main`, `" + second[:12] + "`"},
		{"nowhere", "is not an environment of the default branch"},
	} {
		c := f.gh.AddComment(owner, repoName, 1, "writer", "/ferry sync "+tt.env)
		cmds, errs := chatops.Parse(c.Body)
		if err := h.Handle(ctx, f.job(work.Command{Repo: f.repo, Number: 1, CommentID: c.ID, Author: "writer", Commands: cmds, Errors: errs}.Spec())); err != nil {
			t.Fatal(err)
		}
		comments := f.gh.Comments(owner, repoName, 1)
		if reply := comments[len(comments)-1].Body; !strings.Contains(reply, tt.reply) {
			t.Errorf("/ferry sync %s: %q, want %q", tt.env, reply, tt.reply)
		}
	}
	queued := f.queued(work.KindSync)
	if len(queued) != 1 {
		t.Fatalf("%d syncs queued, want 1", len(queued))
	}
	var s work.Sync
	if err := json.Unmarshal(queued[0].Args, &s); err != nil || s.Commit != second || s.Branch != "main" || s.Trigger != work.TriggerManual {
		t.Errorf("queued %+v (%v), want the tip %s of main", s, err, second)
	}
}

// TestCommandsHistoryIsPerRepository: another repository's environment of
// the same name is neither listed nor rolled back to.
func TestCommandsHistoryIsPerRepository(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.gh.SetPermission(owner, repoName, "writer", "write")
	pr := f.openPR(2, testrepo.Branch(testrepo.ImageBumpProduction))
	for _, rev := range []string{strings.Repeat("fe", 20), strings.Repeat("ed", 20)} {
		s := history.Sync{Repo: "other/shop", Environment: "payment-service", Revision: rev, Result: history.Succeeded, Trigger: work.TriggerMerge, Started: time.Now(), Finished: time.Now()}
		if _, err := f.db.RecordSync(ctx, s, 10); err != nil {
			t.Fatal(err)
		}
	}
	h := &Commands{Repos: f.repos, DB: f.db, Queue: f.db, Logger: f.log}
	for _, tt := range []struct{ body, want string }{
		{"/ferry history payment-service", "payment-service"},
		{"/ferry rollback payment-service", "has no sync history"},
	} {
		c := f.gh.AddComment(owner, repoName, pr.Number, "writer", tt.body)
		cmds, errs := chatops.Parse(tt.body)
		if err := h.Handle(ctx, f.job(work.Command{Repo: f.repo, Number: pr.Number, CommentID: c.ID, Author: "writer", Commands: cmds, Errors: errs}.Spec())); err != nil {
			t.Fatal(err)
		}
		comments := f.gh.Comments(owner, repoName, pr.Number)
		reply := comments[len(comments)-1].Body
		if !strings.Contains(reply, tt.want) || strings.Contains(reply, "fefefe") || strings.Contains(reply, "ededed") {
			t.Errorf("%s: %q", tt.body, reply)
		}
	}
}
