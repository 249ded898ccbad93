package render

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

func TestDirectory(t *testing.T) {
	tree := testrepo.Tree(t, map[string]string{
		"app/a.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\n",
		"app/b.yml":       "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: b1\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: b2\n",
		"app/c.json":      `{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "c"}}`,
		"app/values.yaml": "replicaCount: 2\n",
		"app/notes.yaml":  "this: is: not: yaml\n",
		"app/README.md":   "apiVersion: v1\n",
		"app/sub/d.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\n",
		"other/e.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: e\n",
	})
	res := render(t, tree, environment.Environment{Name: "app", Path: "app", Type: environment.Directory})
	wantKeys := []string{"ConfigMap/a", "Namespace/c", "Secret/b1", "Secret/b2", "Service/a"}
	if got := keys(res.Objects); !slices.Equal(got, wantKeys) {
		t.Errorf("objects = %v, want %v", got, wantKeys)
	}
	if res.Objects[0].Key.Kind != "Namespace" {
		t.Errorf("objects not sorted for apply: first is %s", res.Objects[0].Key)
	}
	sources := map[string]string{"a": "app/a.yaml", "b1": "app/b.yml", "b2": "app/b.yml", "c": "app/c.json"}
	for _, o := range res.Objects {
		if o.Source != sources[o.Key.Name] {
			t.Errorf("%s source = %q", o.Key, o.Source)
		}
	}
	// Files that were read (and so can change the output), not the others.
	wantFiles := []string{"app/a.yaml", "app/b.yml", "app/c.json", "app/notes.yaml", "app/values.yaml"}
	if !slices.Equal(res.Files, wantFiles) {
		t.Errorf("files = %v, want %v", res.Files, wantFiles)
	}
}

func TestDirectoryErrors(t *testing.T) {
	outside := testrepo.Files(t, map[string]string{"s.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: stolen\n"})
	tests := []struct {
		name     string
		tree     map[string]string
		wantFile string
		wantLine int
		wantMsg  string
		outside  bool
	}{
		{name: "broken manifest", tree: map[string]string{"app/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: [\n"},
			wantFile: "app/x.yaml", wantLine: 5},
		{name: "manifest without kind", tree: map[string]string{"app/x.yaml": "apiVersion: v1\nmetadata:\n  name: x\nkind:\n"},
			wantFile: "app/x.yaml", wantMsg: "not a Kubernetes object"},
		{name: "json that is not an object", tree: map[string]string{"app/package.json": `{"name": "tooling"}`},
			wantFile: "app/package.json", wantMsg: "not a Kubernetes object"},
		{name: "jsonnet that is not an object", tree: map[string]string{"app/main.jsonnet": "{}"},
			wantFile: "app/main.jsonnet", wantMsg: "not a Kubernetes object"},
		{name: "symlink leaving the repository", tree: map[string]string{"app/s.yaml": "symlink:" + filepath.Join(outside, "s.yaml")},
			wantFile: "app/s.yaml", outside: true},
		{name: "missing directory", tree: map[string]string{"other/x.yaml": ""},
			wantFile: "apps/app.yaml", wantMsg: "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := environment.Environment{Name: "app", Path: "app", Type: environment.Directory, File: "apps/app.yaml"}
			_, err := Render(context.Background(), testrepo.Tree(t, tt.tree), env, Options{})
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if re.File != tt.wantFile || re.Line != tt.wantLine {
				t.Errorf("error at %s:%d, want %s:%d: %v", re.File, re.Line, tt.wantFile, tt.wantLine, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
			if tt.outside != errors.Is(err, repofs.ErrOutsideRoot) {
				t.Errorf("ErrOutsideRoot = %v, want %v: %v", !tt.outside, tt.outside, err)
			}
		})
	}
}
