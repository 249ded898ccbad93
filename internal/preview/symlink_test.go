package preview

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/gittest"
	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// application is an Argo CD Application of this repository at path.
func application(name, path string) string {
	return "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: " + name + "\n  namespace: argocd\nspec:\n  project: default\n" +
		"  source:\n    repoURL: " + repoURL + "\n    targetRevision: main\n    path: " + path + "\n" +
		"  destination:\n    server: https://kubernetes.default.svc\n    namespace: " + name + "\n"
}

func configMap(name, value string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  mode: " + value + "\n"
}

// symlinkRepo has environments whose inputs are symlinks: a Helm chart
// whose template links to a shared file, a Kustomize overlay whose resource
// links through a chain (kustomize refuses files whose real path leaves the
// overlay, so its chain stays inside), a plain directory linking to the
// shared file, and an environment sharing nothing.
func symlinkRepo() map[string]string {
	return map[string]string{
		"apps/chart.yaml":     application("chart", "charts/linked"),
		"apps/overlay.yaml":   application("overlay", "overlays/linked"),
		"apps/plain.yaml":     application("plain", "plain"),
		"apps/unrelated.yaml": application("unrelated", "unrelated"),

		"shared/configmap.yaml":              configMap("shared", "safe"),
		"charts/linked/Chart.yaml":           "apiVersion: v2\nname: linked\nversion: 1.0.0\n",
		"charts/linked/templates/cm.yaml":    gittest.Symlink("../../../shared/configmap.yaml"),
		"overlays/linked/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [cm.yaml]\n",
		"overlays/linked/cm.yaml":            gittest.Symlink("current.yaml"),
		"overlays/linked/current.yaml":       gittest.Symlink("files/v1.yaml"),
		"overlays/linked/files/v1.yaml":      configMap("overlay", "v1"),
		"overlays/linked/files/v2.yaml":      configMap("overlay", "v2"),
		"plain/cm.yaml":                      gittest.Symlink("../shared/configmap.yaml"),
		"shared-templates/cm.yaml":           configMap("shared", "from-templates"),
		"unrelated/cm.yaml":                  configMap("unrelated", "x"),

		// Helm resolves file://../lib from charts/via-link as named:
		// charts/lib, not a lib beside shared-chart.
		"apps/via-link.yaml":             application("via-link", "charts/via-link"),
		"charts/via-link":                gittest.Symlink("../shared-chart"),
		"shared-chart/Chart.yaml":        "apiVersion: v2\nname: shared\nversion: 1.0.0\ndependencies:\n- name: lib\n  version: 1.0.0\n  repository: file://../lib\n",
		"shared-chart/templates/cm.yaml": configMap("shared-chart", "x"),
		"charts/lib/Chart.yaml":          "apiVersion: v2\nname: lib\nversion: 1.0.0\n",
		"charts/lib/templates/cm.yaml":   configMap("lib", "v1"),
	}
}

// The reported case: a change behind a symlink was "not affected", so it
// went without approval, scan or sync.
func TestChangeBehindSymlinkTouches(t *testing.T) {
	tests := []struct {
		name   string
		change map[string]string
		want   []string // environments changed and touched; the others must be neither
	}{
		{
			name:   "only the shared file a chart template and a plain directory link to",
			change: map[string]string{"shared/configmap.yaml": configMap("shared", "unsafe")},
			want:   []string{"chart", "plain"},
		},
		{
			name:   "only the file at the end of a kustomize resource's chain",
			change: map[string]string{"overlays/linked/files/v1.yaml": configMap("overlay", "v1-edited")},
			want:   []string{"overlay"},
		},
		{
			name:   "only a link in the middle of the chain, retargeted",
			change: map[string]string{"overlays/linked/current.yaml": gittest.Symlink("files/v2.yaml")},
			want:   []string{"overlay"},
		},
		{
			name:   "only a template of the file:// dependency of a chart reached through a link",
			change: map[string]string{"charts/lib/templates/cm.yaml": configMap("lib", "v2")},
			want:   []string{"via-link"},
		},
		{
			name: "only the chart's templates directory, made a link to a shared directory",
			change: map[string]string{
				"charts/linked/templates/cm.yaml": "",
				"charts/linked/templates":         gittest.Symlink("../../shared-templates"),
			},
			want: []string{"chart"},
		},
	}
	srv := gittest.NewServer(t)
	srv.CreateRepo(t, "acme/infra", "")
	srv.Commit(t, "acme/infra", "main", symlinkRepo(), "environments with symlinked inputs")
	open := func(t *testing.T, rev string) *repofs.Tree {
		tree, err := repofs.OpenGit(context.Background(), srv.RepoPath("acme/infra"), rev)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tree.Close() })
		return tree
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A file whose content is "" is deleted.
			branch := fmt.Sprintf("change-%d", i)
			srv.Commit(t, "acme/infra", branch, tt.change, tt.name)
			res, err := Run(context.Background(), open(t, "main"), open(t, branch), Options{RepoURL: repoURL, Render: render.Options{}})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, e := range res.Environments {
				if e.Status == Error {
					t.Errorf("%s: %s", e.Name, e.Error)
				}
				if e.Touched || e.Status != Unchanged {
					got[e.Name] = true
					if !e.Touched || e.Status != Changed {
						t.Errorf("%s: status %s, touched %t; want changed and touched", e.Name, e.Status, e.Touched)
					}
				}
			}
			var names []string
			for _, e := range res.Environments {
				if got[e.Name] {
					names = append(names, e.Name)
				}
			}
			if strings.Join(names, ",") != strings.Join(tt.want, ",") {
				t.Errorf("changed files %v: changed and touched %v, want %v", res.ChangedFiles, names, tt.want)
			}
		})
	}
}

// lyingRenderer renders like the real thing but reports no files read, as a
// render whose inputs the file lists miss would.
type lyingRenderer struct{}

func (lyingRenderer) Render(ctx context.Context, tree *repofs.Tree, env environment.Environment) (*render.Result, error) {
	res, err := render.Render(ctx, tree, env, render.Options{})
	if res != nil {
		res.Files = nil
	}
	return res, err
}

// An environment whose render changed is touched even when no file it read
// changed, so policy and scanning never skip it.
func TestChangedRenderIsTouched(t *testing.T) {
	srv := gittest.NewServer(t)
	srv.CreateRepo(t, "acme/infra", "")
	files := map[string]string{
		"apps/plain.yaml": application("plain", "plain"),
		"plain/cm.yaml":   configMap("plain", "v1"),
	}
	base := srv.Commit(t, "acme/infra", "main", files, "base")
	head := srv.Commit(t, "acme/infra", "change", map[string]string{"plain/cm.yaml": configMap("plain", "v2")}, "change")
	open := func(rev string) *repofs.Tree {
		tree, err := repofs.OpenGit(context.Background(), srv.RepoPath("acme/infra"), rev)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tree.Close() })
		return tree
	}
	res, err := Run(context.Background(), open(base), open(head), Options{RepoURL: repoURL, Renderer: lyingRenderer{}})
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Environments[0]; e.Status != Changed || !e.Touched {
		t.Errorf("plain: status %s, touched %v; want changed and touched", e.Status, e.Touched)
	}
}
