package render_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/reftools"
	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// TestFidelity renders every environment of the example repository, at main
// and at every scenario, in-process and with the reference CLIs built from
// the module proxy (`make tools`: kustomize v5.8.2, helm at the SDK's
// version), and requires the two to be the same objects.
func TestFidelity(t *testing.T) {
	kustomize, helm := referenceTools(t)
	repo := testrepo.Build(t)
	revs := []string{testrepo.Main}
	for _, s := range testrepo.Scenarios() {
		revs = append(revs, testrepo.Branch(s))
	}
	ctx := context.Background()
	compared := 0
	for _, rev := range revs {
		tree, err := repofs.OpenGit(ctx, repo, rev)
		if err != nil {
			t.Fatal(err)
		}
		found, err := preview.Discover(ctx, tree, preview.DiscoverOptions{RepoURL: testrepo.RepoURL})
		if err != nil {
			t.Fatal(err)
		}
		work := filepath.Join(t.TempDir(), "wt")
		if out, err := exec.Command("git", "-C", repo, "worktree", "add", "-q", "--detach", work, rev).CombinedOutput(); err != nil {
			t.Fatalf("worktree: %v: %s", err, out)
		}
		for _, env := range found.Environments {
			if env.External {
				continue
			}
			t.Run(strings.ReplaceAll(rev, "/", "_")+"/"+env.Name, func(t *testing.T) {
				ours, ourErr := render.Render(ctx, tree, env, render.Options{Limits: render.DefaultLimits()})
				ref, refErr := reference(t, kustomize, helm, work, env)
				if (ourErr != nil) != (refErr != nil) {
					t.Fatalf("ferry error: %v; reference error: %v", ourErr, refErr)
				}
				if ourErr != nil {
					return // both refuse the broken scenario
				}
				want, err := manifest.Parse(ref, "reference")
				if err != nil {
					t.Fatal(err)
				}
				manifest.Sort(want)
				if got, exp := stream(t, ours.Objects), stream(t, want); got != exp {
					t.Errorf("ferry render differs from the reference CLI\n--- ferry\n%s\n--- reference\n%s", got, exp)
				}
				compared++
			})
		}
		tree.Close()
	}
	if compared < 10 {
		t.Errorf("compared only %d renders", compared)
	}
}

func stream(t *testing.T, objs []manifest.Object) string {
	b, err := manifest.Stream(objs)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// reference runs what a user would run by hand for env, in a work tree.
func reference(t *testing.T, kustomize, helm, work string, env environment.Environment) ([]byte, error) {
	dir := filepath.Join(work, env.Path)
	var cmd *exec.Cmd
	switch env.Type {
	case environment.Kustomize:
		if env.Kustomize != nil {
			t.Fatalf("%s: Argo CD kustomize overrides are not in the example data; extend this test", env.Name)
		}
		cmd = exec.Command(kustomize, "build", dir)
	case environment.Helm:
		release := env.Name
		ns := env.Destination.Namespace
		if ns == "" {
			ns = "default"
		}
		args := []string{"template", release, dir, "--namespace", ns, "--kube-version", render.DefaultKubeVersion, "--include-crds"}
		if h := env.Helm; h != nil {
			if h.ReleaseName != "" {
				args[1] = h.ReleaseName
			}
			for _, f := range h.ValueFiles {
				args = append(args, "--values", filepath.Join(dir, f))
			}
			if h.Values != "" {
				args = append(args, "--values", writeTemp(t, []byte(h.Values)))
			}
			if len(h.ValuesObject) > 0 {
				b, _ := json.Marshal(h.ValuesObject)
				args = append(args, "--values", writeTemp(t, b))
			}
			for _, p := range h.Parameters {
				flag := "--set"
				if p.ForceString {
					flag = "--set-string"
				}
				args = append(args, flag, p.Name+"="+p.Value)
			}
		}
		cmd = exec.Command(helm, args...)
	default:
		t.Skipf("%s: directory sources have no reference CLI", env.Name)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Logf("reference: %v: %s", err, stderr.String())
	}
	return out, err
}

func writeTemp(t *testing.T, b []byte) string {
	p := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// referenceTools finds the CLIs `make tools` builds; their absence fails the
// test with the command to run rather than skipping it.
func referenceTools(t *testing.T) (string, string) {
	return reftools.Path(t, "kustomize"), reftools.Path(t, "helm")
}
