package server

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// policyCheck waits for the ferry/policy check on sha to complete with at
// least `updates` updates, and returns it.
func (h *harness) policyCheck(sha string, minUpdates int) githubtest.CheckRun {
	h.t.Helper()
	var got githubtest.CheckRun
	h.waitFor("ferry/policy on "+sha[:12], func() bool {
		for _, c := range h.gh.CheckRuns(owner, repoName, sha) {
			if c.Name == "ferry/policy" && c.Status == "completed" && c.Updates >= minUpdates {
				got = c
				return true
			}
		}
		return false
	})
	return got
}

func (h *harness) review(pr githubtest.PullRequest, user, state, commit, delivery string) {
	h.t.Helper()
	r := h.gh.AddReview(owner, repoName, pr.Number, githubtest.Review{User: user, State: state, CommitID: commit, SubmittedAt: time.Now()})
	body := githubtest.PullRequestReviewPayload(h.t, "submitted", h.repo, pr, r)
	if resp := githubtest.Deliver(h.t, h.url+"/webhook", testSecret, "pull_request_review", body, delivery); resp.StatusCode != http.StatusAccepted {
		h.t.Fatalf("review delivery: status %d", resp.StatusCode)
	}
}

// TestProductionNeedsTwoApprovals walks a production change from zero to two
// approvals, with the author's own and a read-only approval not counting.
func TestProductionNeedsTwoApprovals(t *testing.T) {
	h := newHarness(t)
	for _, u := range []string{"bob", "carol"} {
		h.gh.SetPermission(owner, repoName, u, "write")
	}
	h.gh.SetPermission(owner, repoName, "alice", "admin")
	h.gh.SetPermission(owner, repoName, "dave", "read")
	pr := h.openPR(1, testrepo.Branch("image-bump-production"))
	h.deliver("pull_request", "opened", pr, "p-open")

	c := h.policyCheck(pr.HeadSHA, 1)
	if c.Conclusion != "failure" || !strings.Contains(c.Summary, "payment-service-production needs 2 more approvals") {
		t.Fatalf("0 approvals: %s\n%s", c.Conclusion, c.Summary)
	}

	h.review(pr, "alice", "APPROVED", pr.HeadSHA, "p-r-author") // the author's own
	h.review(pr, "dave", "APPROVED", pr.HeadSHA, "p-r-read")    // no write access
	h.review(pr, "bob", "APPROVED", pr.HeadSHA, "p-r-bob")
	c = h.waitPolicy(pr.HeadSHA, func(c githubtest.CheckRun) bool { return strings.Contains(c.Summary, "@bob") })
	if c.Conclusion != "failure" || !strings.Contains(c.Summary, "needs 1 more approval") {
		t.Fatalf("1 valid approval: %s\n%s", c.Conclusion, c.Summary)
	}

	h.review(pr, "carol", "APPROVED", pr.HeadSHA, "p-r-carol")
	c = h.waitPolicy(pr.HeadSHA, func(c githubtest.CheckRun) bool { return c.Conclusion == "success" })
	if !strings.Contains(c.Summary, "@bob, @carol") {
		t.Errorf("2 approvals: summary does not list them:\n%s", c.Summary)
	}

	// A new push makes both approvals stale, like "dismiss stale reviews".
	sha2, err := h.git.RevParse(repoName, testrepo.Branch("base-change"))
	if err != nil {
		t.Fatal(err)
	}
	h.setPullRef(1, sha2)
	pr.BeforeSHA, pr.HeadSHA = pr.HeadSHA, sha2
	h.deliver("pull_request", "synchronize", pr, "p-sync")
	c = h.policyCheck(sha2, 1)
	if c.Conclusion != "failure" || !strings.Contains(c.Summary, "stale") || !strings.Contains(c.Summary, "bob") {
		t.Errorf("after a new push: %s\n%s", c.Conclusion, c.Summary)
	}
	comments := h.gh.Comments(owner, repoName, 1)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, "Policy: ❌ blocked") {
		t.Errorf("the sticky comment does not show the policy state")
	}
}

func (h *harness) waitPolicy(sha string, cond func(githubtest.CheckRun) bool) githubtest.CheckRun {
	h.t.Helper()
	var got githubtest.CheckRun
	h.waitFor("ferry/policy to change", func() bool {
		for _, c := range h.gh.CheckRuns(owner, repoName, sha) {
			if c.Name == "ferry/policy" && c.Status == "completed" && cond(c) {
				got = c
				return true
			}
		}
		return false
	})
	return got
}

// TestPolicyFromBaseOnly: a pull request that rewrites .ferry/policies to
// need no approvals is still judged by the base branch's policies.
func TestPolicyFromBaseOnly(t *testing.T) {
	h := newHarness(t)
	sha := h.git.Commit(t, repoName, "weaken-policy", map[string]string{
		".ferry/policies/allow.rego":             "package ferry.policy\n\napprovals := []\n",
		".ferry.yaml":                            "policy:\n  approvals: []\n",
		"overlays/production/kustomization.yaml": strings.Replace(readBase(t, "overlays/production/kustomization.yaml"), `newTag: "v2.4.1"`, `newTag: "v6.6.6"`, 1),
	}, "no approvals needed")
	h.setPullRef(5, sha)
	pr := h.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: 5, HeadSHA: sha, HeadRef: "weaken-policy", BaseRef: "main", User: "mallory"})
	h.deliver("pull_request", "opened", pr, "weaken")
	c := h.policyCheck(sha, 1)
	if c.Conclusion != "failure" || !strings.Contains(c.Summary, "payment-service-production needs 2 more approvals") {
		t.Errorf("a PR weakening its own policy: %s\n%s", c.Conclusion, c.Summary)
	}
}

// TestSecretsBlockAndNeverLeak plants secrets in a pull request and checks
// that ferry/policy fails with annotations, and that no value reaches
// GitHub, the log or the database.
func TestSecretsBlockAndNeverLeak(t *testing.T) {
	h := newHarness(t)
	// Shaped like real credentials so the rules fire; assembled at run time
	// so this file itself holds no token-shaped string.
	awsKey := "AKIA" + "QZ7XW2EV4NBL3KPT"
	awsSecret := "wJ8rXUtnF3MI+K7MDENG/bPxRfiCYz9q2LsVw4Ho"
	ghToken := "ghp_" + "R8hS2kLq9ZtX4vB7nM1cW6yJ3pF0dG5eA2uT"
	plain := "hunter2-but-longer-and-random-7Qx"
	files := map[string]string{
		"overlays/staging/aws.env":     "AWS_ACCESS_KEY_ID=" + awsKey + "\nAWS_SECRET_ACCESS_KEY=" + awsSecret + "\n",
		"overlays/staging/token.txt":   "token: " + ghToken + "\n",
		"overlays/staging/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: payment-service-credentials\ntype: Opaque\nstringData:\n  API_KEY: " + plain + "\n",
	}
	sha := h.git.Commit(t, repoName, "leak", files, "add credentials")
	h.setPullRef(6, sha)
	pr := h.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: 6, HeadSHA: sha, HeadRef: "leak", BaseRef: "main", User: "alice"})
	h.deliver("pull_request", "opened", pr, "leak")
	c := h.policyCheck(sha, 1)
	if c.Conclusion != "failure" {
		t.Errorf("conclusion %q, want failure", c.Conclusion)
	}
	annotated := map[string]bool{}
	for _, a := range c.Annotations {
		annotated[a.Path] = true
	}
	for _, f := range []string{"overlays/staging/aws.env", "overlays/staging/token.txt", "overlays/staging/secret.yaml"} {
		if !annotated[f] {
			t.Errorf("no annotation on %s (annotations: %+v)", f, c.Annotations)
		}
	}
	h.stop()
	h.stop = nil

	secrets := []string{awsKey, awsSecret, ghToken, plain}
	for i, body := range h.gh.AllBodies() {
		for _, s := range secrets {
			if strings.Contains(string(body), s) {
				t.Errorf("request body %d sent to GitHub contains a planted secret", i)
			}
		}
	}
	logs := h.logs.String()
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the server log contains a planted secret")
		}
	}
	dbFiles, _ := filepath.Glob(filepath.Join(h.dir, "ferry.db*"))
	if len(dbFiles) == 0 {
		t.Fatal("no database files to check")
	}
	for _, f := range dbFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s contains a planted secret", filepath.Base(f))
			}
		}
	}
}

func readBase(t *testing.T, name string) string {
	b, err := os.ReadFile(filepath.Join(testrepo.BaseDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
