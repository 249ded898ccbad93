package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/testrepo"
)

var update = flag.Bool("update", false, "rewrite golden files")

// elapsed hides the render time, the only part of the output that varies.
var elapsed = regexp.MustCompile(`in [0-9.]+(ms|s|µs)\.`)

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return elapsed.ReplaceAllString(out.String(), "in <elapsed>."), errOut.String(), code
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test ./internal/cli -update to accept):\n%s", name, got)
	}
}

func TestDiff(t *testing.T) {
	repo := testrepo.Build(t)
	tests := []struct {
		name     string
		head     string
		format   string
		wantCode int
		golden   string
	}{
		{"no change", testrepo.Main, "json", 0, "diff-none.json"},
		{"production image bump", testrepo.Branch("image-bump-production"), "markdown", 1, "diff-image-bump.md"},
		{"production image bump json", testrepo.Branch("image-bump-production"), "json", 1, "diff-image-bump.json"},
		{"base change touches two", testrepo.Branch("base-change"), "markdown", 1, "diff-base-change.md"},
		{"secret change", testrepo.Branch("secret-change"), "markdown", 1, "diff-secret-change.md"},
		{"broken kustomization", testrepo.Branch("broken-kustomization"), "markdown", 2, "diff-broken.md"},
		{"added and removed resources", testrepo.Branch("add-remove-resource"), "json", 1, "diff-add-remove.json"},
		{"helm values", testrepo.Branch("helm-values"), "text", 1, "diff-helm-values.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, code := run(t, "diff", "--repo", repo, "--base", testrepo.Main, "--head", tt.head, "--repo-url", testrepo.RepoURL, "--format", tt.format, "--color", "never")
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			golden(t, tt.golden, out)
		})
	}
}

func TestDiffWorkingTree(t *testing.T) {
	repo := testrepo.Build(t)
	path := filepath.Join(repo, "overlays", "production", "kustomization.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(`newTag: "v2.4.1"`), []byte(`newTag: "v9.9.9"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := run(t, "diff", "--repo", repo, "--base", testrepo.Main, "--repo-url", testrepo.RepoURL, "--format", "json")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	if !strings.Contains(out, "v9.9.9") || !strings.Contains(out, `"payment-service-production"`) {
		t.Errorf("working-tree change not shown:\n%s", out)
	}
}

func TestApps(t *testing.T) {
	repo := testrepo.Build(t)
	out, stderr, code := run(t, "apps", "--repo", repo, "--rev", testrepo.Main, "--repo-url", testrepo.RepoURL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	golden(t, "apps.txt", out)
	// Without --repo-url every Application is taken to point here.
	out, _, _ = run(t, "apps", "--repo", repo, "--rev", testrepo.Main, "--format", "json")
	if strings.Contains(out, `"external": true`) {
		t.Errorf("without --repo-url no Application should be external:\n%s", out)
	}
}

func TestRender(t *testing.T) {
	repo := testrepo.Build(t)
	out, stderr, code := run(t, "render", "--repo", repo, "--rev", testrepo.Main, "--app", "payment-service-production", "--repo-url", testrepo.RepoURL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	golden(t, "render-production.yaml", out)
	_, stderr, code = run(t, "render", "--repo", repo, "--rev", testrepo.Main, "--app", "nope")
	if code != 2 || !strings.Contains(stderr, `no environment "nope"`) {
		t.Errorf("unknown app: exit %d, stderr %q", code, stderr)
	}
}

func TestServeRefusesWithoutSecret(t *testing.T) {
	t.Setenv("FERRY_WEBHOOK_SECRET", "")
	_, stderr, code := run(t, "serve", "--app-id", "1", "--data-dir", t.TempDir())
	if code != 2 || !strings.Contains(stderr, "webhook secret is required") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("exit %d, stderr %q: want one clear line and exit 2", code, stderr)
	}
}
