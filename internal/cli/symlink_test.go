package cli

import (
	"testing"

	"github.com/ferry-gitops/ferry/internal/gittest"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// The reported case: a chart template and a Kustomize resource are
// symlinks; a pull request changes only what they link to. `ferry diff`
// said "not affected" and exited 0; the change must show, with exit 1.
func TestDiffChangeBehindSymlinks(t *testing.T) {
	srv := gittest.NewServer(t)
	srv.CreateRepo(t, "acme/infra", testrepo.Build(t))
	app := func(name, path string) string {
		return "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: " + name + "\n  namespace: argocd\nspec:\n  project: default\n" +
			"  source:\n    repoURL: " + testrepo.RepoURL + "\n    targetRevision: main\n    path: " + path + "\n" +
			"  destination:\n    server: https://kubernetes.default.svc\n    namespace: " + name + "\n"
	}
	cm := func(name, mode string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  mode: " + mode + "\n"
	}
	srv.Commit(t, "acme/infra", "main", map[string]string{
		"apps/linked-chart.yaml":             app("linked-chart", "charts/linked"),
		"apps/linked-overlay.yaml":           app("linked-overlay", "overlays/linked"),
		"shared/configmap.yaml":              cm("shared", "safe"),
		"charts/linked/Chart.yaml":           "apiVersion: v2\nname: linked\nversion: 1.0.0\n",
		"charts/linked/templates/cm.yaml":    gittest.Symlink("../../../shared/configmap.yaml"),
		"overlays/linked/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [cm.yaml]\n",
		// kustomize refuses a file whose real path leaves the overlay: the
		// chain stays inside it.
		"overlays/linked/cm.yaml":       gittest.Symlink("current.yaml"),
		"overlays/linked/current.yaml":  gittest.Symlink("files/v1.yaml"),
		"overlays/linked/files/v1.yaml": cm("overlay", "v1"),
		"overlays/linked/files/v2.yaml": cm("overlay", "v2"),
	}, "Environments with symlinked inputs")
	srv.Commit(t, "acme/infra", "symlink-change", map[string]string{
		"shared/configmap.yaml":        cm("shared", "unsafe"),
		"overlays/linked/current.yaml": gittest.Symlink("files/v2.yaml"),
	}, "Change only what the links point at")
	out, stderr, code := run(t, "diff", "--repo", srv.RepoPath("acme/infra"), "--base", "main", "--head", "symlink-change", "--repo-url", testrepo.RepoURL, "--format", "text", "--color", "never")
	if code != 1 {
		t.Errorf("exit %d, want 1 (changes); stderr: %s", code, stderr)
	}
	golden(t, "diff-symlink-shared.txt", out)
}
