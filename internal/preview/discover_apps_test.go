package preview

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// appOfAppsURL is the repository testdata/app-of-apps stands for.
const appOfAppsURL = "https://github.com/ferry-gitops/app-of-apps"

// counting renders in this process and counts the renders per environment.
type counting struct {
	mu    sync.Mutex
	count map[string]int
}

func newCounting() *counting { return &counting{count: map[string]int{}} }

func (c *counting) Render(ctx context.Context, tree *repofs.Tree, env environment.Environment) (*render.Result, error) {
	c.mu.Lock()
	c.count[env.Name]++
	c.mu.Unlock()
	return InProcess{Limits: render.DefaultLimits()}.Render(ctx, tree, env)
}

// expectedEnv is one entry of testdata/app-of-apps/expected.yaml.
type expectedEnv struct {
	Name      string `json:"name"`
	Parent    string `json:"parent"`
	File      string `json:"file"`
	Path      string `json:"path"`
	Type      string `json:"type"`
	Namespace string `json:"namespace"`
}

type expectedAppOfApps struct {
	Environments []expectedEnv       `json:"environments"`
	Changed      map[string][]string `json:"changed"`
}

func appOfAppsDir(t *testing.T) string {
	t.Helper()
	root, err := testrepo.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "testdata", "app-of-apps")
}

func loadExpected(t *testing.T) expectedAppOfApps {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(appOfAppsDir(t), "expected.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var want expectedAppOfApps
	if err := yaml.UnmarshalStrict(data, &want); err != nil {
		t.Fatal(err)
	}
	return want
}

// readFiles reads a directory of testdata as a map for testrepo.Tree.
func readFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func got(d *environment.Discovery) []expectedEnv {
	var out []expectedEnv
	for _, e := range d.Environments {
		out = append(out, expectedEnv{Name: e.Name, Parent: e.Parent, File: e.File, Path: e.Path, Type: string(e.Type), Namespace: e.Destination.Namespace})
	}
	return out
}

// TestAppOfAppsTestdata discovers testdata/app-of-apps and compares with
// the environments expected.yaml writes down; and the same repository cut
// to argocd-example-apps' layout, where the parent is found by convention.
func TestAppOfAppsTestdata(t *testing.T) {
	want := loadExpected(t)
	files := readFiles(t, filepath.Join(appOfAppsDir(t), "base"))
	example := map[string]string{}
	for name, content := range files {
		top, _, _ := strings.Cut(name, "/")
		if top == "apps" || strings.HasSuffix(top, "guestbook") {
			example[name] = content
		}
	}
	delete(example, "apps/templates/platform.yaml")
	var exampleWant []expectedEnv
	for _, e := range want.Environments {
		if e.Parent == "root" && e.Name != "platform" {
			e.Parent = "apps"
			exampleWant = append(exampleWant, e)
		}
	}
	exampleWant = append([]expectedEnv{{Name: "apps", Path: "apps", Type: "helm"}}, exampleWant...)
	tests := []struct {
		name  string
		files map[string]string
		want  []expectedEnv
		// rendered are the environments rendered to find children.
		rendered []string
	}{
		{name: "declared root", files: files, want: want.Environments, rendered: []string{"addons", "platform", "root"}},
		{name: "argocd-example-apps layout, by convention", files: example, want: exampleWant, rendered: []string{"apps"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newCounting()
			d, err := Discover(context.Background(), testrepo.Tree(t, tt.files), DiscoverOptions{RepoURL: appOfAppsURL, Renderer: r})
			if err != nil {
				t.Fatal(err)
			}
			gotEnvs := got(d)
			if len(gotEnvs) != len(tt.want) {
				t.Fatalf("found %d environments %+v, want %d %+v (skipped: %+v)", len(gotEnvs), gotEnvs, len(tt.want), tt.want, d.Skipped)
			}
			for i := range gotEnvs {
				if gotEnvs[i] != tt.want[i] {
					t.Errorf("environment %d: %+v, want %+v", i, gotEnvs[i], tt.want[i])
				}
			}
			// The templates Git discovery cannot read are explained by the
			// renders that found their Applications.
			if len(d.Skipped) != 0 {
				t.Errorf("skipped %+v, want nothing", d.Skipped)
			}
			for _, e := range d.Environments {
				if e.Origin == environment.FromDiscovery {
					continue // a guess by convention has no destination
				}
				if e.Destination.Server != "https://kubernetes.default.svc" || e.External {
					t.Errorf("%s: destination %+v external %v", e.Name, e.Destination, e.External)
				}
			}
			for _, name := range tt.rendered {
				if r.count[name] != 1 {
					t.Errorf("%s rendered %d times, want once", name, r.count[name])
				}
			}
			if len(r.count) != len(tt.rendered) {
				t.Errorf("rendered %v, want only %v: the others' inputs mention no argoproj.io", r.count, tt.rendered)
			}
		})
	}
}
