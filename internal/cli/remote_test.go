package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/fetchtest"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// TestDiffExternalChart: `ferry diff --config FILE` renders a chart bump
// from a repository the file allows; without the file nothing is fetched
// and the environment says why.
func TestDiffExternalChart(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the CLI's fetch cache
	charts := fetchtest.NewChartRepo(t)
	for v, extra := range map[string]map[string]string{"0.1.0": nil, "0.2.0": {"templates/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"}} {
		files := map[string]string{"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  version: " + v + "\n"}
		for p, c := range extra {
			files[p] = c
		}
		charts.AddChart("web", v, files)
	}
	app := func(version string) map[string]string {
		return map[string]string{"apps/web.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\nspec:\n" +
			"  source:\n    repoURL: " + charts.URL() + "\n    chart: web\n    targetRevision: " + version + "\n" +
			"  destination:\n    server: https://kubernetes.default.svc\n    namespace: web\n"}
	}
	repo := testrepo.Files(t, app("0.1.0"))
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@ferry.invalid"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-qm", "web 0.1.0")
	git("checkout", "-qb", "bump")
	testrepo.Write(t, repo, app("0.2.0"))
	git("commit", "-qam", "web 0.2.0")
	config := filepath.Join(t.TempDir(), "ferry.yaml")
	if err := os.WriteFile(config, []byte("repositories:\n  - url: "+charts.URL()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	out, stderr, code := run(t, "diff", "--repo", repo, "--base", "main", "--head", "bump", "--format", "text", "--config", config)
	if code != 1 || !strings.Contains(out, "Service") || !strings.Contains(out, "version: 0.2.0") {
		t.Errorf("with --config: exit %d, stdout:\n%s\nstderr: %s", code, out, stderr)
	}
	out, stderr, code = run(t, "apps", "--repo", repo, "--rev", "bump", "--config", config)
	if code != 0 || !strings.Contains(out, "web@0.2.0 from "+charts.URL()) {
		t.Errorf("apps: exit %d, stdout:\n%s\nstderr: %s", code, out, stderr)
	}
	outside := filepath.Join(t.TempDir(), "other.yaml")
	if err := os.WriteFile(outside, []byte("repositories:\n  - url: https://charts.example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _, _ = run(t, "apps", "--repo", repo, "--config", outside); !strings.Contains(out, "(not an allowed repository)") {
		t.Errorf("apps with a chart outside the allowlist:\n%s", out)
	}
	charts.Reset()
	out, stderr, code = run(t, "diff", "--repo", repo, "--base", "main", "--head", "bump", "--format", "text")
	if code == 0 || !strings.Contains(out+stderr, "fetching is off") {
		t.Errorf("without --config: exit %d, stdout:\n%s\nstderr: %s", code, out, stderr)
	}
	if got := charts.Requests(); len(got) != 0 {
		t.Errorf("requests without --config: %v", got)
	}
}
