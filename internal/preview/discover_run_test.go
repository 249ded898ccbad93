package preview

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// TestAppOfAppsPreview previews each scenario of testdata/app-of-apps: a
// change to the parent's values that changes a child's spec shows as that
// child's change, with its rendered diff; and the parents discovery
// rendered are not rendered again to be diffed.
func TestAppOfAppsPreview(t *testing.T) {
	want := loadExpected(t)
	dir := appOfAppsDir(t)
	baseFiles := readFiles(t, filepath.Join(dir, "base"))
	tests := []struct {
		scenario string
		// resources maps a changed environment to its changed resources.
		resources map[string][]string
		// param is helm-guestbook's replicaCount parameter at the head.
		param string
	}{
		{
			scenario: "values-change",
			resources: map[string][]string{
				"root":           {"changed Application/helm-guestbook"},
				"helm-guestbook": {"changed Deployment/helm-guestbook-helm-guestbook"},
			},
			param: "3",
		},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			headFiles := maps.Clone(baseFiles)
			maps.Copy(headFiles, readFiles(t, filepath.Join(dir, "scenarios", tt.scenario)))
			base, head := testrepo.Tree(t, baseFiles), testrepo.Tree(t, headFiles)
			base.Revision, head.Revision = "base", "head"
			r := newCounting()
			res, err := Run(context.Background(), base, head, Options{RepoURL: appOfAppsURL, Renderer: r, Diff: diff.Options{Context: 3}})
			if err != nil {
				t.Fatal(err)
			}
			var changed []string
			for _, e := range res.Environments {
				if e.Status == Error {
					t.Errorf("%s: %s", e.Name, e.Error)
				}
				if e.Status != Changed {
					if e.Touched {
						t.Errorf("%s: unchanged but touched", e.Name)
					}
					continue
				}
				changed = append(changed, e.Name)
				var got []string
				for _, c := range e.Resources {
					got = append(got, string(c.Change)+" "+c.Kind+"/"+c.Name)
				}
				if strings.Join(got, ",") != strings.Join(tt.resources[e.Name], ",") {
					t.Errorf("%s: resources %v, want %v", e.Name, got, tt.resources[e.Name])
				}
				if e.Name == "helm-guestbook" {
					if p := e.Env.Helm.Parameters; len(p) != 1 || p[0].Value != tt.param || e.Env.Parent != "root" {
						t.Errorf("helm-guestbook at the head: parameters %+v parent %q", p, e.Env.Parent)
					}
					if !strings.Contains(e.Resources[0].Diff, "replicas: "+tt.param) {
						t.Errorf("helm-guestbook's diff lacks the new replicas:\n%s", e.Resources[0].Diff)
					}
				}
			}
			if !slices.Equal(changed, want.Changed[tt.scenario]) {
				t.Errorf("changed %v, want %v", changed, want.Changed[tt.scenario])
			}
			// Discovery renders root, platform and addons at both sides;
			// the planner diffs root with those renders.
			if r.count["root"] != 2 {
				t.Errorf("root rendered %d times, want twice (once a side)", r.count["root"])
			}
		})
	}
}
