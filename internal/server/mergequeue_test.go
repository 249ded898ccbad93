package server

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/githubtest"
)

// group builds a merge queue group for pull request n: a commit on
// gh-readonly-queue/main/pr-<n>-<head> holding the pull request's change
// on top of main, as GitHub builds it, and asks for its checks.
func (h *syncHarness) group(n int, head string, files map[string]string, delivery string) string {
	h.t.Helper()
	base, err := h.git.RevParse(repoName, "main")
	if err != nil {
		h.t.Fatal(err)
	}
	branch := "gh-readonly-queue/main/pr-" + itoa(n) + "-" + head
	sha := h.git.Commit(h.t, repoName, branch, files, "Change (#"+itoa(n)+")")
	body := githubtest.MergeGroupPayload(h.t, "checks_requested", h.repo, githubtest.MergeGroup{
		HeadSHA: sha, HeadRef: "refs/heads/" + branch, BaseSHA: base, BaseRef: "refs/heads/main", Message: "Change (#" + itoa(n) + ")"})
	if resp := githubtest.Deliver(h.t, h.url+"/webhook", testSecret, "merge_group", body, delivery); resp.StatusCode != http.StatusAccepted {
		h.t.Fatalf("merge_group delivery: status %d", resp.StatusCode)
	}
	return sha
}

func itoa(n int) string { return strconv.Itoa(n) }

// check waits for a completed check of name on sha.
func (h *syncHarness) check(sha, name string) githubtest.CheckRun {
	h.t.Helper()
	var got githubtest.CheckRun
	h.waitFor(name+" on "+sha[:12], func() bool {
		for _, c := range h.gh.CheckRuns(owner, repoName, sha) {
			if c.Name == name && c.Status == "completed" {
				got = c
				return true
			}
		}
		return false
	})
	return got
}

// TestMergeQueue: ferry/diff and ferry/policy report on a merge group's
// head, judged by the approvals of the pull requests in it; a group whose
// render fails fails ferry/diff; the queue's branch never syncs.
func TestMergeQueue(t *testing.T) {
	h := newSyncHarness(t, "healthy")
	for _, u := range []string{"bob", "carol"} {
		h.gh.SetPermission(owner, repoName, u, "write")
	}
	app := readFileAt(t, h.git.RepoPath(repoName), "main", "apps/payment-service.yaml")
	scale := map[string]string{"apps/payment-service.yaml": strings.Replace(app, "replicas: 3", "replicas: 4", 1)}

	// Pull request 7, approved twice on its head; pull request 8, not.
	for n, approvers := range map[int][]string{7: {"bob", "carol"}, 8: nil} {
		head := h.git.Commit(t, repoName, "change-"+itoa(n), scale, "scale to 4")
		h.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: n, HeadSHA: head, HeadRef: "change-" + itoa(n), BaseRef: "main", User: "alice"})
		for _, u := range approvers {
			h.gh.AddReview(owner, repoName, n, githubtest.Review{User: u, State: "APPROVED", CommitID: head, SubmittedAt: time.Now()})
		}
	}
	approved := h.group(7, h.headOf("change-7"), scale, "mg-7")
	if d, p := h.check(approved, "ferry/diff"), h.check(approved, "ferry/policy"); d.Conclusion != "success" || p.Conclusion != "success" ||
		!strings.Contains(d.Summary, "payment-service") {
		t.Errorf("approved group: diff %s, policy %s:\n%s\n%s", d.Conclusion, p.Conclusion, d.Summary, p.Summary)
	}

	unapproved := h.group(8, h.headOf("change-8"), scale, "mg-8")
	if p := h.check(unapproved, "ferry/policy"); p.Conclusion != "failure" || !strings.Contains(p.Summary, "#8") ||
		!strings.Contains(p.Summary, "payment-service needs 2 more approvals") {
		t.Errorf("unapproved group: policy %s:\n%s", p.Conclusion, p.Summary)
	}

	broken := map[string]string{"apps/payment-service.yaml": strings.Replace(app, "replicas: 3", "replicas: [3", 1)}
	h.git.Commit(t, repoName, "change-9", broken, "broken values")
	h.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: 9, HeadSHA: h.headOf("change-9"), HeadRef: "change-9", BaseRef: "main", User: "alice"})
	failing := h.group(9, h.headOf("change-9"), broken, "mg-9")
	if d := h.check(failing, "ferry/diff"); d.Conclusion != "failure" {
		t.Errorf("broken group: diff %s:\n%s", d.Conclusion, d.Summary)
	}

	// GitHub pushes the group's branch: nothing is applied.
	branch := "gh-readonly-queue/main/pr-7-" + h.headOf("change-7")
	body := githubtest.PushPayload(t, h.repo, githubtest.Push{Ref: "refs/heads/" + branch, After: approved,
		Commits: []githubtest.PushCommit{{ID: approved, Modified: []string{"apps/payment-service.yaml"}}}})
	if resp := githubtest.Deliver(t, h.url+"/webhook", testSecret, "push", body, "push-queue"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("push delivery: status %d", resp.StatusCode)
	}
	time.Sleep(time.Second)
	if deps := h.gh.Deployments(owner, repoName); len(deps) != 0 {
		t.Errorf("a merge queue branch was synced: %+v", deps)
	}
	if h.deployment("production", "payment-service") != nil {
		t.Error("objects were applied from a merge queue branch")
	}
}
