package server

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// TestAppOfAppsPullRequest serves testdata/app-of-apps and opens its
// values-change scenario: a pull request changing only the app-of-apps
// chart's values. The sticky comment shows the child whose spec that
// changes (helm-guestbook) as changed, with its rendered diff, and the
// parent's changed Application; the other children stay unchanged.
func TestAppOfAppsPullRequest(t *testing.T) {
	root, err := testrepo.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "testdata", "app-of-apps")
	// The test data stands for ferry-gitops/app-of-apps; the harness
	// serves it as skillzmist/infrastructure.
	asServed := func(files map[string]string) map[string]string {
		for name, content := range files {
			files[name] = strings.ReplaceAll(content, "ferry-gitops/app-of-apps", owner+"/"+repoName)
		}
		return files
	}
	h := newHarnessWith(t, "", nil)
	h.git.Commit(t, repoName, "main", asServed(readCaseFiles(t, filepath.Join(dir, "base"))), "app of apps")
	h.git.Commit(t, repoName, "values-change", asServed(readCaseFiles(t, filepath.Join(dir, "scenarios", "values-change"))), "helm-guestbook: 3 replicas")
	pr := h.openPR(1, "values-change")
	h.deliver("pull_request", "opened", pr, "app-of-apps-1")
	h.waitFor("the diff check", func() bool { return h.completedCheck(pr.HeadSHA) != nil })
	comments := h.gh.Comments(owner, repoName, 1)
	if len(comments) != 1 {
		t.Fatalf("%d comments, want the sticky diff comment", len(comments))
	}
	body := comments[0].Body
	for _, want := range []string{
		"helm-guestbook-helm-guestbook", // the child's Deployment, in its own diff
		"replicas: 3",
		"Application", // the parent's rendered helm-guestbook Application
	} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q:\n%s", want, body)
		}
	}
	// The chart's templates are Applications Git discovery cannot read;
	// the parent's render reads them, so they are not listed as skipped.
	if strings.Contains(body, "apps/templates/") {
		t.Errorf("comment mentions the parent's templates:\n%s", body)
	}
	for _, line := range strings.Split(body, "\n") {
		for _, name := range []string{"guestbook", "kustomize-guestbook", "platform", "monitoring", "cert-manager"} {
			if strings.Contains(line, "`"+name+"`") && strings.Contains(line, "changed") && !strings.Contains(line, "unchanged") {
				t.Errorf("%s shown as changed: %s", name, line)
			}
		}
	}
	if !changedRow(body, "helm-guestbook") || !changedRow(body, "root") {
		t.Errorf("comment does not show helm-guestbook and root as changed:\n%s", body)
	}
	if c := h.completedCheck(pr.HeadSHA); c.Conclusion != "success" {
		t.Errorf("check conclusion %q, want success:\n%s", c.Conclusion, c.Summary)
	}
}

// changedRow reports whether a line of body names env (as code) and says
// it changed.
func changedRow(body, env string) bool {
	for _, line := range strings.Split(body, "\n") {
		if strings.Contains(line, "`"+env+"`") && strings.Contains(line, "changed") && !strings.Contains(line, "unchanged") {
			return true
		}
	}
	return false
}
