package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// gitIn runs git in the work tree dir with a pinned identity and no user
// configuration.
func gitIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "commit.gpgSign=false"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Ferry Test", "GIT_AUTHOR_EMAIL=test@ferry.invalid",
		"GIT_COMMITTER_NAME=Ferry Test", "GIT_COMMITTER_EMAIL=test@ferry.invalid")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// commitFiles writes files (a value starting with "symlink:" is a link)
// into the work tree and commits them on the current branch.
func commitFiles(t *testing.T, dir, message string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		_ = os.Remove(p)
		var err error
		if target, ok := strings.CutPrefix(content, "symlink:"); ok {
			err = os.Symlink(target, p)
		} else {
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "commit", "-q", "-m", message)
}

// The reported case: a chart template and a Kustomize resource are
// symlinks; a pull request changes only what they link to. `ferry diff`
// said "not affected" and exited 0; the change must show, with exit 1.
func TestDiffChangeBehindSymlinks(t *testing.T) {
	repo := testrepo.Build(t)
	app := func(name, path string) string {
		return "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: " + name + "\n  namespace: argocd\nspec:\n  project: default\n" +
			"  source:\n    repoURL: " + testrepo.RepoURL + "\n    targetRevision: main\n    path: " + path + "\n" +
			"  destination:\n    server: https://kubernetes.default.svc\n    namespace: " + name + "\n"
	}
	cm := func(name, mode string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  mode: " + mode + "\n"
	}
	commitFiles(t, repo, "Environments with symlinked inputs", map[string]string{
		"apps/linked-chart.yaml":             app("linked-chart", "charts/linked"),
		"apps/linked-overlay.yaml":           app("linked-overlay", "overlays/linked"),
		"shared/configmap.yaml":              cm("shared", "safe"),
		"charts/linked/Chart.yaml":           "apiVersion: v2\nname: linked\nversion: 1.0.0\n",
		"charts/linked/templates/cm.yaml":    "symlink:../../../shared/configmap.yaml",
		"overlays/linked/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [cm.yaml]\n",
		// kustomize refuses a file whose real path leaves the overlay: the
		// chain stays inside it.
		"overlays/linked/cm.yaml":       "symlink:current.yaml",
		"overlays/linked/current.yaml":  "symlink:files/v1.yaml",
		"overlays/linked/files/v1.yaml": cm("overlay", "v1"),
		"overlays/linked/files/v2.yaml": cm("overlay", "v2"),
	})
	gitIn(t, repo, "checkout", "-q", "-b", "symlink-change")
	commitFiles(t, repo, "Change only what the links point at", map[string]string{
		"shared/configmap.yaml":        cm("shared", "unsafe"),
		"overlays/linked/current.yaml": "symlink:files/v2.yaml",
	})
	out, stderr, code := run(t, "diff", "--repo", repo, "--base", "main", "--head", "symlink-change", "--repo-url", testrepo.RepoURL, "--format", "text", "--color", "never")
	if code != 1 {
		t.Errorf("exit %d, want 1 (changes); stderr: %s", code, stderr)
	}
	golden(t, "diff-symlink-shared.txt", out)
}
