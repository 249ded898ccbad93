package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// TestApplicationSetNewDirectory serves the git directory generator of
// testdata/appsets (apps/* but experimental) and opens a pull request that
// adds apps/billing: the ApplicationSet is expanded at each side of the
// pull request, so the sticky comment lists billing as a new environment
// with its Deployment, and the existing generated environments as
// unaffected.
func TestApplicationSetNewDirectory(t *testing.T) {
	root, err := testrepo.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(root, "testdata", "appsets", "repo")
	// The test data stands for example/gitops; the harness serves it as
	// skillzmist/infrastructure.
	served := func(content string) string {
		return strings.ReplaceAll(content, "example/gitops", owner+"/"+repoName)
	}
	base := map[string]string{}
	for name, content := range readCaseFiles(t, filepath.Join(repo, "apps")) {
		base["apps/"+name] = served(content)
	}
	appset, err := os.ReadFile(filepath.Join(repo, "appsets", "git-directories.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	base["appsets/git-directories.yaml"] = served(string(appset))

	h := newHarnessWith(t, "", nil)
	h.git.Commit(t, repoName, "main", base, "apps from an ApplicationSet")
	deployment := strings.ReplaceAll(base["apps/guestbook/deployment.yaml"], "guestbook-ui", "billing-api")
	h.git.Commit(t, repoName, "add-billing", map[string]string{
		"apps/billing/kustomization.yaml": base["apps/guestbook/kustomization.yaml"],
		"apps/billing/deployment.yaml":    deployment,
	}, "billing: a new directory under apps/")
	pr := h.openPR(1, "add-billing")
	h.deliver("pull_request", "opened", pr, "appset-1")
	h.waitFor("the diff check", func() bool { return h.completedCheck(pr.HeadSHA) != nil })

	comments := h.gh.Comments(owner, repoName, 1)
	if len(comments) != 1 {
		t.Fatalf("%d comments, want the sticky diff comment", len(comments))
	}
	body := comments[0].Body
	for _, want := range []string{"`billing` (new)", "billing-api"} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q:\n%s", want, body)
		}
	}
	for _, env := range []string{"guestbook", "helm-guestbook"} {
		if changedRow(body, env) {
			t.Errorf("%s shown as changed:\n%s", env, body)
		}
	}
	if strings.Contains(body, "`experimental`") {
		t.Errorf("the excluded directory shows as an environment:\n%s", body)
	}
	if c := h.completedCheck(pr.HeadSHA); c.Conclusion != "success" {
		t.Errorf("check conclusion %q, want success:\n%s", c.Conclusion, c.Summary)
	}
}
