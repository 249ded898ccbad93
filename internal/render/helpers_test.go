package render

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// gitTree commits files to a fresh repository and opens the commit.
func gitTree(t testing.TB, files map[string]string) *repofs.Tree {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := testrepo.Files(t, files)
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "-A"},
		{"-c", "user.name=ferry", "-c", "user.email=ferry@example.com", "commit", "-q", "-m", "test"},
	} {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	tree, err := repofs.OpenGit(context.Background(), filepath.Join(dir, ".git"), "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tree.Close() })
	return tree
}

func render(t testing.TB, tree *repofs.Tree, env environment.Environment) *Result {
	t.Helper()
	res, err := Render(context.Background(), tree, env, Options{})
	if err != nil {
		t.Fatalf("render %s: %v", env.Name, err)
	}
	return res
}

// find returns the object with the given kind and name, failing the test if absent.
func find(t testing.TB, objs []manifest.Object, kind, name string) manifest.Object {
	t.Helper()
	for _, o := range objs {
		if o.Key.Kind == kind && o.Key.Name == name {
			return o
		}
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key.String())
	}
	t.Fatalf("no %s %s among %v", kind, name, keys)
	return manifest.Object{}
}

// field walks a decoded object by keys and list indexes ("spec", "replicas").
func field(obj map[string]any, path ...any) any {
	var cur any = obj
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			cur = m[k]
		case int:
			l, ok := cur.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			cur = l[k]
		}
	}
	return cur
}

func keys(objs []manifest.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Key.String())
	}
	slices.Sort(out)
	return out
}
