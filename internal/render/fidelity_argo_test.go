package render_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/reftools"
	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// argoKustomizeRepo is an overlay with labels and annotations of its own,
// components to add and a patch file to name.
var argoKustomizeRepo = map[string]string{
	"base/kustomization.yaml": "resources: [deployment.yaml, service.yaml]\n",
	"base/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.25
`,
	"base/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{port: 80}]
`,
	"overlay/kustomization.yaml": `resources: [../base]
commonLabels:
  team: payments
commonAnnotations:
  owner: payments
labels:
  - pairs: {tier: backend}
    includeSelectors: false
`,
	"overlay/replicas.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n",
	"components/monitoring/kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources: [monitor.yaml]
`,
	"components/monitoring/monitor.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: monitoring\ndata: {scrape: \"true\"}\n",
	"components/extra-a/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations: {extra-a: \"yes\"}\n",
	"components/extra-b/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations: {extra-b: \"yes\"}\n",
}

// TestArgoKustomizeFieldsFidelity applies spec.source.kustomize fields with
// ferry and, on a copy of the same files, the way Argo CD does with the
// reference kustomize CLI (`kustomize edit …` in the source directory, the
// patches appended to the kustomization file, then `kustomize build`):
// both must give the same objects, or both fail.
func TestArgoKustomizeFieldsFidelity(t *testing.T) {
	kustomize := reftools.Path(t, "kustomize")
	tests := []struct {
		name  string
		opts  environment.KustomizeSource
		edits [][]string // kustomize edit arguments, as Argo CD runs them
		// patches are appended to the kustomization as Argo CD appends them.
		patches []map[string]any
		wantErr bool
	}{
		{
			name:  "commonAnnotations",
			opts:  environment.KustomizeSource{CommonAnnotations: map[string]string{"deploy/by": "argo", "note": "hello world"}},
			edits: [][]string{{"add", "annotation", "deploy/by:argo", "note:hello world"}},
		},
		{
			name:    "commonAnnotations on an existing key",
			opts:    environment.KustomizeSource{CommonAnnotations: map[string]string{"owner": "platform"}},
			edits:   [][]string{{"add", "annotation", "owner:platform"}},
			wantErr: true,
		},
		{
			name:  "forceCommonAnnotations",
			opts:  environment.KustomizeSource{CommonAnnotations: map[string]string{"owner": "platform"}, ForceCommonAnnotations: true},
			edits: [][]string{{"add", "annotation", "--force", "owner:platform"}},
		},
		{
			name: "commonAnnotationsEnvsubst, and images and labels always expanded",
			opts: environment.KustomizeSource{
				CommonAnnotations: map[string]string{"app": "${ARGOCD_APP_NAME}-$ARGOCD_APP_NAMESPACE", "cost": "$$5", "unset": "x${NOT_SET}y"}, CommonAnnotationsEnvsubst: true,
				CommonLabels: map[string]string{"project": "${ARGOCD_APP_PROJECT_NAME}"}, Images: []string{"nginx:${ARGOCD_APP_NAME}"},
			},
			edits: [][]string{{"set", "image", "nginx:web"}, {"add", "label", "project:shop"}, {"add", "annotation", "app:web-payments", "cost:$5", "unset:xy"}},
		},
		{
			name:  "commonAnnotations without envsubst stay as written",
			opts:  environment.KustomizeSource{CommonAnnotations: map[string]string{"app": "${ARGOCD_APP_NAME}"}},
			edits: [][]string{{"add", "annotation", "app:${ARGOCD_APP_NAME}"}},
		},
		{
			name:  "forceCommonLabels",
			opts:  environment.KustomizeSource{CommonLabels: map[string]string{"team": "platform", "env": "prod"}, ForceCommonLabels: true},
			edits: [][]string{{"add", "label", "--force", "team:platform", "env:prod"}},
		},
		{
			name:  "labelWithoutSelector",
			opts:  environment.KustomizeSource{CommonLabels: map[string]string{"tier": "web", "env": "prod"}, LabelWithoutSelector: true, ForceCommonLabels: true},
			edits: [][]string{{"add", "label", "--force", "--without-selector", "tier:web", "env:prod"}},
		},
		{
			name:  "labelWithoutSelector and labelIncludeTemplates",
			opts:  environment.KustomizeSource{CommonLabels: map[string]string{"env": "prod"}, LabelWithoutSelector: true, LabelIncludeTemplates: true},
			edits: [][]string{{"add", "label", "--without-selector", "--include-templates", "env:prod"}},
		},
		{
			name:    "labelWithoutSelector on an existing key",
			opts:    environment.KustomizeSource{CommonLabels: map[string]string{"tier": "web"}, LabelWithoutSelector: true},
			edits:   [][]string{{"add", "label", "--without-selector", "tier:web"}},
			wantErr: true,
		},
		{
			name: "patches inline, by path, with a target and options",
			opts: environment.KustomizeSource{Patches: []environment.KustomizePatch{
				{Path: "replicas.yaml"},
				{Patch: "- op: add\n  path: /metadata/annotations/patched\n  value: \"yes\"\n", Target: &environment.PatchTarget{Kind: "Service", Name: "web"}},
				{Patch: "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels: {exposed: \"true\"}\n"},
				{Patch: "- op: replace\n  path: /metadata/name\n  value: web-renamed\n", Target: &environment.PatchTarget{Group: "apps", Version: "v1", Kind: "Deployment", LabelSelector: "app=web"}, Options: map[string]bool{"allowNameChange": true}},
			}},
			patches: []map[string]any{
				{"path": "replicas.yaml"},
				{"patch": "- op: add\n  path: /metadata/annotations/patched\n  value: \"yes\"\n", "target": map[string]any{"kind": "Service", "name": "web"}},
				{"patch": "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels: {exposed: \"true\"}\n"},
				{"patch": "- op: replace\n  path: /metadata/name\n  value: web-renamed\n", "target": map[string]any{"group": "apps", "version": "v1", "kind": "Deployment", "labelSelector": "app=web"}, "options": map[string]any{"allowNameChange": true}},
			},
		},
		{
			name:  "components, a path and a glob",
			opts:  environment.KustomizeSource{Components: []string{"../components/monitoring", "../components/extra-*"}},
			edits: [][]string{{"add", "component", "../components/monitoring", "../components/extra-*"}},
		},
		{
			name:    "a missing component",
			opts:    environment.KustomizeSource{Components: []string{"../components/nothing"}},
			edits:   [][]string{{"add", "component", "../components/nothing"}},
			wantErr: true,
		},
		{
			name:  "ignoreMissingComponents",
			opts:  environment.KustomizeSource{Components: []string{"../components/nothing", "../components/monitoring"}, IgnoreMissingComponents: true},
			edits: [][]string{{"add", "component", "../components/monitoring"}},
		},
		{
			name:    "ignoreMissingComponents with none found",
			opts:    environment.KustomizeSource{Components: []string{"../components/nothing"}, IgnoreMissingComponents: true},
			edits:   [][]string{{"add", "component"}},
			wantErr: true,
		},
		{
			name: "every field, in Argo CD's order",
			opts: environment.KustomizeSource{
				NamePrefix: "eu-", Namespace: "payments", Images: []string{"nginx:1.27"},
				CommonLabels: map[string]string{"region": "eu"}, CommonAnnotations: map[string]string{"region": "eu"},
				Components: []string{"../components/monitoring"},
				Patches:    []environment.KustomizePatch{{Path: "replicas.yaml"}},
			},
			edits: [][]string{
				{"set", "nameprefix", "--", "eu-"}, {"set", "image", "nginx:1.27"}, {"add", "label", "region:eu"},
				{"add", "annotation", "region:eu"}, {"set", "namespace", "--", "payments"}, {"add", "component", "../components/monitoring"},
			},
			patches: []map[string]any{{"path": "replicas.yaml"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			env := environment.Environment{Name: "web", Path: "overlay", Type: environment.Kustomize, Kustomize: &opts,
				Project: "shop", Destination: environment.Destination{Namespace: "payments"}}
			ours, ourErr := render.Render(context.Background(), testrepo.Tree(t, argoKustomizeRepo), env, render.Options{})
			dir := testrepo.Files(t, argoKustomizeRepo)
			ref, refErr := argoKustomizeBuild(t, kustomize, filepath.Join(dir, "overlay"), tt.edits, tt.patches)
			compareReference(t, ours, ourErr, ref, refErr, tt.wantErr)
		})
	}
}

// argoKustomizeBuild edits and builds dir as Argo CD does.
func argoKustomizeBuild(t *testing.T, kustomize, dir string, edits [][]string, patches []map[string]any) ([]byte, error) {
	for _, e := range edits {
		cmd := exec.Command(kustomize, append([]string{"edit"}, e...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("kustomize edit %v: %v: %s", e, err, out)
			return nil, err
		}
	}
	if len(patches) > 0 {
		file := filepath.Join(dir, "kustomization.yaml")
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var k map[string]any
		if err := sigsyaml.Unmarshal(b, &k); err != nil {
			t.Fatal(err)
		}
		list, _ := k["patches"].([]any)
		for _, p := range patches {
			list = append(list, p)
		}
		k["patches"] = list
		if b, err = sigsyaml.Marshal(k); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return runReference(t, exec.Command(kustomize, "build", dir))
}

func runReference(t *testing.T, cmd *exec.Cmd) ([]byte, error) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Logf("reference: %v: %s", err, stderr.String())
	}
	return out, err
}

// compareReference requires ferry's render and the reference CLI's output
// to be the same objects, or both to fail when wantErr.
func compareReference(t *testing.T, ours *render.Result, ourErr error, ref []byte, refErr error, wantErr bool) {
	t.Helper()
	if wantErr {
		if ourErr == nil || refErr == nil {
			t.Fatalf("want both to fail; ferry error: %v; reference error: %v", ourErr, refErr)
		}
		t.Logf("ferry: %v", ourErr)
		return
	}
	if ourErr != nil || refErr != nil {
		t.Fatalf("ferry error: %v; reference error: %v", ourErr, refErr)
	}
	want, err := manifest.Parse(ref, "reference")
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("the reference rendered nothing")
	}
	manifest.Sort(want)
	if got, exp := stream(t, ours.Objects), stream(t, want); got != exp {
		t.Errorf("ferry render differs from the reference CLI\n--- ferry\n%s\n--- reference\n%s", got, exp)
	}
}
