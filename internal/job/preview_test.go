package job

import (
	"context"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/report"
	"github.com/ferry-gitops/ferry/internal/testrepo"
	"github.com/ferry-gitops/ferry/internal/work"
)

func newPreviews(t *testing.T, f *fixture) *Previews {
	t.Helper()
	rules, masker := secretRules(t)
	return &Previews{Repos: f.repos, DB: f.db, Renderer: preview.InProcess{}, SecretRules: rules, Mask: masker, Logger: f.log}
}

func previewJob(f *fixture, pr githubtest.PullRequest) queue.Job {
	return f.job(work.Preview{Repo: f.repo, Number: pr.Number, HeadSHA: pr.HeadSHA, BaseRef: "main", Author: pr.User}.Spec())
}

// checks returns the conclusion of each check run on sha, by name.
func checkConclusions(f *fixture, sha string) map[string]string {
	out := map[string]string{}
	for _, c := range f.gh.CheckRuns(owner, repoName, sha) {
		out[c.Name] = c.Conclusion
	}
	return out
}

// TestPreviewsHandle: each scenario gets one sticky comment and both checks,
// completed with what the change deserves.
func TestPreviewsHandle(t *testing.T) {
	f := newFixture(t)
	h := newPreviews(t, f)
	tests := []struct {
		scenario     string
		diff, policy string
		comment      string // the comment says this
		annotation   string // a diff annotation points at this file
	}{
		{testrepo.ImageBumpProduction, "success", "failure", "payment-service-production", ""},
		{testrepo.BrokenKustomization, "failure", "", "render failed", "overlays/staging/kustomization.yaml"},
		{testrepo.SecretChange, "success", "failure", "secret", ""},
	}
	for i, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			pr := f.openPR(10+i, testrepo.Branch(tt.scenario))
			if err := h.Handle(context.Background(), previewJob(f, pr)); err != nil {
				t.Fatal(err)
			}
			got := checkConclusions(f, pr.HeadSHA)
			if got[report.DiffCheckName] != tt.diff || (tt.policy != "" && got[report.PolicyCheckName] != tt.policy) || got[report.PolicyCheckName] == "" {
				t.Errorf("checks %v, want diff %s and policy %q", got, tt.diff, tt.policy)
			}
			comments := f.gh.Comments(owner, repoName, pr.Number)
			if len(comments) != 1 || !strings.Contains(comments[0].Body, report.DiffMarker) || !strings.Contains(comments[0].Body, tt.comment) {
				t.Errorf("comments: %+v", comments)
			}
			if tt.annotation != "" && !annotates(f, pr.HeadSHA, tt.annotation) {
				t.Errorf("no annotation on %s", tt.annotation)
			}
		})
	}
}

func annotates(f *fixture, sha, path string) bool {
	for _, c := range f.gh.CheckRuns(owner, repoName, sha) {
		for _, a := range c.Annotations {
			if a.Path == path {
				return true
			}
		}
	}
	return false
}

// TestPreviewsHandleAgain: a redelivered or retried preview of the same
// head reuses its check runs and edits its one comment.
func TestPreviewsHandleAgain(t *testing.T) {
	f := newFixture(t)
	h := newPreviews(t, f)
	pr := f.openPR(3, testrepo.Branch(testrepo.BaseChange))
	for range 2 {
		if err := h.Handle(context.Background(), previewJob(f, pr)); err != nil {
			t.Fatal(err)
		}
	}
	if runs := f.gh.CheckRuns(owner, repoName, pr.HeadSHA); len(runs) != 2 {
		t.Errorf("%d check runs after two previews of one head, want 2", len(runs))
	}
	if comments := f.gh.Comments(owner, repoName, pr.Number); len(comments) != 1 {
		t.Errorf("%d comments after two previews, want 1", len(comments))
	}
}

// TestPreviewsHandleAfterLostAnswers: GitHub did a write and answered
// 502 (a gateway lost its answer); the retried preview finds what was
// made instead of making it twice.
func TestPreviewsHandleAfterLostAnswers(t *testing.T) {
	for i, op := range []string{"checks/create", "issues/create-comment"} {
		t.Run(op, func(t *testing.T) {
			f := newFixture(t)
			h := newPreviews(t, f)
			pr := f.openPR(6+i, testrepo.Branch(testrepo.BaseChange))
			f.gh.Chaos(githubtest.ChaosOptions{Fail502: 1, After: 1, Operations: []string{op}})
			if err := h.Handle(context.Background(), previewJob(f, pr)); err == nil {
				t.Fatal("the first run succeeded despite the 502")
			}
			f.gh.Chaos(githubtest.ChaosOptions{})
			if err := h.Handle(context.Background(), previewJob(f, pr)); err != nil {
				t.Fatal(err)
			}
			names := map[string]int{}
			for _, c := range f.gh.CheckRuns(owner, repoName, pr.HeadSHA) {
				names[c.Name]++
			}
			if names[report.DiffCheckName] != 1 || names[report.PolicyCheckName] != 1 {
				t.Errorf("check runs %v, want one of each", names)
			}
			if comments := f.gh.Comments(owner, repoName, pr.Number); len(comments) != 1 {
				t.Errorf("%d comments, want 1", len(comments))
			}
		})
	}
}

// TestPreviewsHandleSkips: a closed pull request is not previewed, and a
// head that is no longer on the pull request fails for good without
// touching the checks (the newer push has its own job).
func TestPreviewsHandleSkips(t *testing.T) {
	f := newFixture(t)
	h := newPreviews(t, f)
	closed := f.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: 4, HeadSHA: f.head("main"), BaseRef: "main", State: "closed"})
	if err := h.Handle(context.Background(), previewJob(f, closed)); err != nil {
		t.Errorf("closed pull request: %v", err)
	}
	if runs := f.gh.CheckRuns(owner, repoName, closed.HeadSHA); len(runs) != 0 {
		t.Errorf("closed pull request got %d check runs", len(runs))
	}
	pr := f.openPR(5, testrepo.Branch(testrepo.BaseChange))
	pr.HeadSHA = strings.Repeat("ab", 20)
	err := h.Handle(context.Background(), previewJob(f, pr))
	if !queue.IsPermanent(err) || !strings.Contains(err.Error(), "no longer on the pull request") {
		t.Errorf("moved head: %v, want a permanent error", err)
	}
	for _, c := range f.gh.CheckRuns(owner, repoName, pr.HeadSHA) {
		if c.Status == "completed" {
			t.Errorf("check %s completed for a head that moved on", c.Name)
		}
	}
}
