package preview

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// argoApp is an Application manifest of this repository (or of
// repoURL when given) for path.
func argoApp(name, path string, extra ...string) string {
	repo := appOfAppsURL + ".git"
	spec := ""
	for _, e := range extra {
		if r, ok := strings.CutPrefix(e, "repoURL="); ok {
			repo = r
			continue
		}
		spec += e
	}
	return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: %s
spec:
  project: default
  source:
    repoURL: %s
    path: %s
%s  destination:
    server: https://kubernetes.default.svc
    namespace: %s
`, name, repo, path, spec, name)
}

// chart is a chart at dir whose templates are docs: Git discovery sees
// templates (skipped), only a render sees the documents.
func chart(files map[string]string, dir string, docs ...string) {
	files[dir+"/Chart.yaml"] = "apiVersion: v2\nname: " + strings.ReplaceAll(dir, "/", "-") + "\nversion: 0.1.0\n"
	for i, d := range docs {
		files[fmt.Sprintf("%s/templates/t%d.yaml", dir, i)] = "{{- /* rendered by Helm */ -}}\n" + d
	}
}

func leaf(files map[string]string, dir string) {
	files[dir+"/cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + strings.ReplaceAll(dir, "/", "-") + "\n"
}

type skipWant struct{ file, reason string }

func TestAppOfAppsRules(t *testing.T) {
	tests := []struct {
		name     string
		files    func(map[string]string)
		maxDepth int
		// maxRenders bounds the parents rendered (0: the default).
		maxRenders int
		noRender   bool
		// want lists "name<parent" (parent "" for Git's own), sorted.
		want     []string
		external []string
		skipped  []skipWant
	}{
		{
			name: "depth limit",
			files: func(f map[string]string) {
				f["l0.yaml"] = argoApp("l0", "l0")
				for i := 0; i < 6; i++ {
					chart(f, fmt.Sprintf("l%d", i), argoApp(fmt.Sprintf("l%d", i+1), fmt.Sprintf("l%d", i+1)))
				}
			},
			maxDepth: 3,
			want:     []string{"l0<", "l1<l0", "l2<l1", "l3<l2"},
			skipped:  []skipWant{{"l2/templates/t0.yaml", `the Applications "l3" renders are not discovered: app-of-apps is followed 3 levels deep (l0 → l1 → l2 → l3)`}},
		},
		{
			name: "default depth limit is 5",
			files: func(f map[string]string) {
				f["l0.yaml"] = argoApp("l0", "l0")
				for i := 0; i < 8; i++ {
					chart(f, fmt.Sprintf("l%d", i), argoApp(fmt.Sprintf("l%d", i+1), fmt.Sprintf("l%d", i+1)))
				}
			},
			want:    []string{"l0<", "l1<l0", "l2<l1", "l3<l2", "l4<l3", "l5<l4"},
			skipped: []skipWant{{"l4/templates/t0.yaml", "followed 5 levels deep (l0 → l1 → l2 → l3 → l4 → l5)"}},
		},
		{
			name: "a bounded number of parents is rendered",
			files: func(f map[string]string) {
				for _, n := range []string{"a", "b", "c"} {
					f[n+".yaml"] = argoApp(n, n)
					chart(f, n, argoApp(n+"-child", n+"-child"))
				}
			},
			maxRenders: 2,
			want:       []string{"a<", "a-child<a", "b<", "b-child<b", "c<"},
			skipped:    []skipWant{{"c.yaml", `the Applications "c" renders are not discovered: discovery renders at most 2 app-of-apps parents`}},
		},
		{
			name: "cycle through charts",
			files: func(f map[string]string) {
				f["a.yaml"] = argoApp("a", "a")
				chart(f, "a", argoApp("b", "b"))
				chart(f, "b", argoApp("a", "a"))
			},
			want:    []string{"a<", "b<a"},
			skipped: []skipWant{{"a/templates/t0.yaml", `Application "a" rendered by "b" makes an app-of-apps cycle (a → b → a); it is refused`}},
		},
		{
			name: "cycle through directories of Applications",
			files: func(f map[string]string) {
				f["dir1/a.yaml"] = argoApp("a", "dir2")
				f["dir2/b.yaml"] = argoApp("b", "dir1")
			},
			want:    []string{"a<", "b<a"},
			skipped: []skipWant{{"dir2/b.yaml", "app-of-apps cycle (a → b → a)"}},
		},
		{
			name: "an Application managing itself and its siblings",
			files: func(f map[string]string) {
				f["apps/root.yaml"] = argoApp("root", "apps")
				f["apps/child.yaml"] = argoApp("child", "child")
				leaf(f, "child")
			},
			want: []string{"child<root", "root<"},
		},
		{
			name: "unusable child is skipped with the parent's file",
			files: func(f map[string]string) {
				f["p.yaml"] = argoApp("p", "p")
				chart(f, "p", argoApp("plug", "plug", "    plugin:\n      name: cmp\n"), argoApp("ok", "ok"))
				leaf(f, "ok")
			},
			want:    []string{"ok<p", "p<"},
			skipped: []skipWant{{"p.yaml", `Application rendered by "p" (p/templates/t0.yaml): Application "plug" uses a config management plugin`}},
		},
		{
			name: "a child may not take a Git Application's name",
			files: func(f map[string]string) {
				f["x.yaml"] = argoApp("x", "x")
				leaf(f, "x")
				f["p.yaml"] = argoApp("p", "p")
				chart(f, "p", argoApp("x", "elsewhere"))
			},
			want:    []string{"p<", "x<"},
			skipped: []skipWant{{"p.yaml", `Application "x" rendered by "p" is already defined by x.yaml`}},
		},
		{
			name: "a child of another repository is listed as external",
			files: func(f map[string]string) {
				f["p.yaml"] = argoApp("p", "p")
				chart(f, "p", argoApp("ext", "deploy", "repoURL=https://github.com/other/repo.git"))
			},
			want:     []string{"ext<p", "p<"},
			external: []string{"ext"},
		},
		{
			name: "without a renderer nothing is expanded",
			files: func(f map[string]string) {
				f["p.yaml"] = argoApp("p", "p")
				chart(f, "p", argoApp("c", "c"))
			},
			noRender: true,
			want:     []string{"p<"},
		},
		{
			name: "a rendered ApplicationSet is expanded",
			files: func(f map[string]string) {
				f["p.yaml"] = argoApp("p", "p")
				chart(f, "p", `apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: teams
spec:
  generators:
  - list:
      elements:
      - team: red
      - team: blue
  template:
    metadata:
      name: '{{ "{{team}}" }}-app'
    spec:
      project: default
      source:
        repoURL: `+appOfAppsURL+`
        path: '{{ "teams/{{team}}" }}'
      destination:
        server: https://kubernetes.default.svc
        namespace: '{{ "{{team}}" }}'
`)
				leaf(f, "teams/red")
				leaf(f, "teams/blue")
			},
			want: []string{"blue-app<p", "p<", "red-app<p"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			tt.files(files)
			opts := DiscoverOptions{RepoURL: appOfAppsURL, MaxDepth: tt.maxDepth, maxRenders: tt.maxRenders}
			if !tt.noRender {
				opts.Renderer = newCounting()
			}
			d, err := Discover(context.Background(), testrepo.Tree(t, files), opts)
			if err != nil {
				t.Fatal(err)
			}
			var names, external []string
			for _, e := range d.Environments {
				names = append(names, e.Name+"<"+e.Parent)
				if e.External {
					external = append(external, e.Name)
				}
			}
			if strings.Join(names, " ") != strings.Join(tt.want, " ") {
				t.Errorf("environments %v, want %v (skipped %+v)", names, tt.want, d.Skipped)
			}
			if strings.Join(external, " ") != strings.Join(tt.external, " ") {
				t.Errorf("external %v, want %v", external, tt.external)
			}
			checkSkipped(t, d.Skipped, tt.skipped)
		})
	}
}

// checkSkipped wants each of want among skipped, and no other skip that
// concerns app-of-apps.
func checkSkipped(t *testing.T, skipped []environment.Skipped, want []skipWant) {
	t.Helper()
	found := make([]bool, len(want))
	for _, s := range skipped {
		matched := false
		for i, w := range want {
			if s.File == w.file && strings.Contains(s.Reason, w.reason) {
				found[i], matched = true, true
			}
		}
		if !matched && strings.Contains(s.Reason, "render") {
			t.Errorf("unexpected skip %s: %s", s.File, s.Reason)
		}
	}
	for i, w := range want {
		if !found[i] {
			t.Errorf("no skip of %s with %q among %+v", w.file, w.reason, skipped)
		}
	}
}
