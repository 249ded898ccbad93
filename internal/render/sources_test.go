package render_test

import (
	"context"
	"maps"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/reftools"
	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// TestMultiSourceRender renders a multi-source Application's sources of
// this repository one after the other and concatenates their objects, as
// Argo CD does: the same objects as `kustomize build` and `helm template`
// of each; an object two sources render is an error naming both.
func TestMultiSourceRender(t *testing.T) {
	kustomize, helm := reftools.Path(t, "kustomize"), reftools.Path(t, "helm")
	files := maps.Clone(argoKustomizeRepo)
	maps.Copy(files, argoHelmRepo)
	tree := testrepo.Tree(t, files)
	dir := testrepo.Files(t, files)

	env := environment.Environment{Name: "web", File: "apps/web.yaml", Path: "overlay", Type: environment.Kustomize,
		Kustomize:   &environment.KustomizeSource{CommonAnnotations: map[string]string{"source": "one"}},
		Destination: environment.Destination{Namespace: "web"},
		Sources: []environment.Source{{Path: "chart", Type: environment.Helm,
			Helm: &environment.HelmSource{FileParameters: []environment.HelmFileParameter{{Name: "cert", Path: "files/cert.pem"}}}}}}
	ours, ourErr := render.Render(context.Background(), tree, env, render.Options{})

	var ref []byte
	kust, err := argoKustomizeBuild(t, kustomize, filepath.Join(dir, "overlay"), [][]string{{"add", "annotation", "source:one"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helm, "template", "web", ".", "--namespace", "web", "--kube-version", render.DefaultKubeVersion, "--include-crds", "--set-file", "cert=files/cert.pem")
	cmd.Dir = filepath.Join(dir, "chart")
	chart, err := runReference(t, cmd)
	if err != nil {
		t.Fatal(err)
	}
	ref = append(append(kust, []byte("\n---\n")...), chart...)
	compareReference(t, ours, ourErr, ref, nil, false)
	for _, f := range []string{"overlay/kustomization.yaml", "base/deployment.yaml", "chart/Chart.yaml", "chart/files/cert.pem", "apps/web.yaml"} {
		if !contains(ours.Files, f) {
			t.Errorf("files read %v lack %s", ours.Files, f)
		}
	}

	dup := env
	dup.Sources = []environment.Source{{Path: "chart", Type: environment.Helm}, {Path: "base", Type: environment.Kustomize}}
	_, err = render.Render(context.Background(), tree, dup, render.Options{})
	if err == nil || !strings.Contains(err.Error(), "/web is rendered by two sources") || !strings.Contains(err.Error(), "kustomize source overlay and kustomize source base") {
		t.Errorf("two sources rendering one object: got %v, want an error naming both", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestMultiSourceApplicationEndToEnd discovers a multi-source Application
// (a Kustomize overlay, a chart with a "$values/…" value file, a ref source
// and a source from another repository) and renders it.
func TestMultiSourceApplicationEndToEnd(t *testing.T) {
	const repo = "https://github.com/acme/web"
	files := maps.Clone(argoKustomizeRepo)
	maps.Copy(files, argoHelmRepo)
	files["envs/prod/values.yaml"] = "replicas: 7\n"
	files["apps/web.yaml"] = `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
spec:
  project: default
  destination: {server: https://kubernetes.default.svc, namespace: web}
  sources:
    - repoURL: https://github.com/other/dashboards
      path: grafana
    - repoURL: ` + repo + `
      path: overlay
    - repoURL: ` + repo + `.git
      path: chart
      helm:
        valueFiles: [$values/envs/prod/values.yaml]
    - repoURL: ` + repo + `
      ref: values
`
	tree := testrepo.Tree(t, files)
	found, err := environment.Discover(tree, environment.DiscoverOptions{RepoURL: repo})
	if err != nil {
		t.Fatal(err)
	}
	var env *environment.Environment
	for i, e := range found.Environments {
		if e.Name == "web" && e.Origin == environment.FromApplication {
			env = &found.Environments[i]
		}
	}
	if env == nil {
		t.Fatalf("no environment web: %+v, skipped %+v", found.Environments, found.Skipped)
	}
	if len(env.ExternalSources) != 1 || !strings.Contains(env.ExternalSources[0], "github.com/other/dashboards") {
		t.Errorf("external sources %v, want the dashboards repository", env.ExternalSources)
	}
	res, err := render.Render(context.Background(), tree, *env, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, o := range res.Objects {
		kinds[o.Key.Kind+"/"+o.Key.Name] = true
		if o.Key.Kind == "ConfigMap" && o.Key.Name == "caps" {
			if got := o.Object["data"].(map[string]any)["replicas"]; got != "7" {
				t.Errorf("replicas from $values/envs/prod/values.yaml = %v, want 7", got)
			}
		}
	}
	for _, want := range []string{"Deployment/web", "Service/web", "ConfigMap/caps", "CustomResourceDefinition/widgets.example.com"} {
		if !kinds[want] {
			t.Errorf("render lacks %s: %v", want, kinds)
		}
	}
	if !contains(res.Files, "envs/prod/values.yaml") {
		t.Errorf("files read %v lack the $values file", res.Files)
	}
}
