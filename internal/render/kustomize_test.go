package render

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

const deployYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.0
`

const serviceYAML = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
`

// baseFiles is a small base reused by the overlay tests.
func baseFiles() map[string]string {
	return map[string]string{
		"base/kustomization.yaml": "resources:\n- deploy.yaml\n- service.yaml\n",
		"base/deploy.yaml":        deployYAML,
		"base/service.yaml":       serviceYAML,
		"base/README.md":          "not referenced\n",
	}
}

func with(files map[string]string, more map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range files {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

func TestKustomizeBuild(t *testing.T) {
	tests := []struct {
		name      string
		tree      map[string]string
		path      string
		wantKeys  []string
		wantFiles []string
		check     func(t *testing.T, res *Result)
	}{
		{
			name: "deprecated bases, commonLabels and namePrefix",
			tree: with(baseFiles(), map[string]string{
				"overlays/prod/kustomization.yaml": "bases:\n- ../../base\ncommonLabels:\n  env: prod\nnamePrefix: prod-\n",
				"overlays/prod/unused.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unused\n",
			}),
			path:      "overlays/prod",
			wantKeys:  []string{"Service/prod-web", "apps/Deployment/prod-web"},
			wantFiles: []string{"base/deploy.yaml", "base/kustomization.yaml", "base/service.yaml", "overlays/prod/kustomization.yaml"},
			check: func(t *testing.T, res *Result) {
				d := find(t, res.Objects, "Deployment", "prod-web").Object
				for _, p := range [][]any{
					{"metadata", "labels", "env"},
					{"spec", "selector", "matchLabels", "env"},
					{"spec", "template", "metadata", "labels", "env"},
				} {
					if got := field(d, p...); got != "prod" {
						t.Errorf("%v = %v, want prod", p, got)
					}
				}
				if got := field(find(t, res.Objects, "Service", "prod-web").Object, "spec", "selector", "env"); got != "prod" {
					t.Errorf("service selector env = %v", got)
				}
			},
		},
		{
			name: "resources with patchesStrategicMerge file and inline patch",
			tree: with(baseFiles(), map[string]string{
				"overlays/prod/kustomization.yaml": `resources:
- ../../base
patchesStrategicMerge:
- replicas.yaml
- |-
  apiVersion: v1
  kind: Service
  metadata:
    name: web
  spec:
    type: NodePort
`,
				"overlays/prod/replicas.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n",
			}),
			path:      "overlays/prod",
			wantKeys:  []string{"Service/web", "apps/Deployment/web"},
			wantFiles: []string{"base/deploy.yaml", "base/kustomization.yaml", "base/service.yaml", "overlays/prod/kustomization.yaml", "overlays/prod/replicas.yaml"},
			check: func(t *testing.T, res *Result) {
				if got := field(find(t, res.Objects, "Deployment", "web").Object, "spec", "replicas"); got != float64(3) {
					t.Errorf("replicas = %#v, want 3", got)
				}
				if got := field(find(t, res.Objects, "Service", "web").Object, "spec", "type"); got != "NodePort" {
					t.Errorf("service type = %#v", got)
				}
			},
		},
		{
			name: "replicas, images and namespace fields",
			tree: with(baseFiles(), map[string]string{
				"app/kustomization.yaml": "resources:\n- ../base\nnamespace: shop\nreplicas:\n- name: web\n  count: 5\nimages:\n- name: nginx\n  newName: registry.example.com/nginx\n  newTag: \"1.25\"\n",
			}),
			path:     "app",
			wantKeys: []string{"Service/shop/web", "apps/Deployment/shop/web"},
			check: func(t *testing.T, res *Result) {
				d := find(t, res.Objects, "Deployment", "web").Object
				if got := field(d, "spec", "replicas"); got != float64(5) {
					t.Errorf("replicas = %#v, want 5", got)
				}
				if got := field(d, "spec", "template", "spec", "containers", 0, "image"); got != "registry.example.com/nginx:1.25" {
					t.Errorf("image = %v", got)
				}
			},
		},
		{
			name: "configMapGenerator hashes names and fixes references",
			tree: map[string]string{
				"app/kustomization.yaml": "resources:\n- deploy.yaml\nconfigMapGenerator:\n- name: settings\n  files:\n  - app.properties\n  literals:\n  - MODE=prod\n",
				"app/app.properties":     "color=blue\n",
				"app/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx
        envFrom:
        - configMapRef:
            name: settings
`,
			},
			path:      "app",
			wantFiles: []string{"app/app.properties", "app/deploy.yaml", "app/kustomization.yaml"},
			check: func(t *testing.T, res *Result) {
				var cm string
				for _, o := range res.Objects {
					if o.Key.Kind == "ConfigMap" {
						cm = o.Key.Name
						if o.Source != "app/kustomization.yaml" {
							t.Errorf("generated ConfigMap source = %q, want the kustomization", o.Source)
						}
						if got := field(o.Object, "data", "app.properties"); got != "color=blue\n" {
							t.Errorf("data = %#v", got)
						}
					}
				}
				if !strings.HasPrefix(cm, "settings-") || len(cm) <= len("settings-") {
					t.Fatalf("ConfigMap name %q has no hash suffix", cm)
				}
				ref := field(find(t, res.Objects, "Deployment", "web").Object, "spec", "template", "spec", "containers", 0, "envFrom", 0, "configMapRef", "name")
				if ref != cm {
					t.Errorf("deployment refers to %v, want %s", ref, cm)
				}
			},
		},
		{
			name: "deprecated vars",
			tree: map[string]string{
				"app/kustomization.yaml": "resources:\n- svc.yaml\n- deploy.yaml\nvars:\n- name: SVC\n  objref:\n    kind: Service\n    name: backend\n    apiVersion: v1\n",
				"app/svc.yaml":           "apiVersion: v1\nkind: Service\nmetadata:\n  name: backend\n",
				"app/deploy.yaml":        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx\n        args: [\"--backend=$(SVC)\"]\n",
			},
			path: "app",
			check: func(t *testing.T, res *Result) {
				got := field(find(t, res.Objects, "Deployment", "web").Object, "spec", "template", "spec", "containers", 0, "args", 0)
				if got != "--backend=backend" {
					t.Errorf("args = %v", got)
				}
			},
		},
		{
			name: "components, patches with target and json6902",
			tree: with(baseFiles(), map[string]string{
				"app/kustomization.yaml": `resources:
- ../base
components:
- ../components/monitoring
patches:
- target:
    kind: Deployment
  patch: |-
    - op: add
      path: /spec/template/metadata/labels/team
      value: shop
patchesJson6902:
- target:
    version: v1
    kind: Service
    name: web
  path: svc-patch.yaml
`,
				"app/svc-patch.yaml":                       "- op: replace\n  path: /spec/ports/0/port\n  value: 8080\n",
				"components/monitoring/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations:\n  monitored: \"true\"\n",
			}),
			path: "app",
			wantFiles: []string{"app/kustomization.yaml", "app/svc-patch.yaml", "base/deploy.yaml", "base/kustomization.yaml",
				"base/service.yaml", "components/monitoring/kustomization.yaml"},
			check: func(t *testing.T, res *Result) {
				d := find(t, res.Objects, "Deployment", "web").Object
				if got := field(d, "spec", "template", "metadata", "labels", "team"); got != "shop" {
					t.Errorf("team label = %v", got)
				}
				if got := field(d, "metadata", "annotations", "monitored"); got != "true" {
					t.Errorf("component annotation = %v", got)
				}
				if got := field(find(t, res.Objects, "Service", "web").Object, "spec", "ports", 0, "port"); got != float64(8080) {
					t.Errorf("port = %#v", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := render(t, testrepo.Tree(t, tt.tree), environment.Environment{Name: "e", Path: tt.path, Type: environment.Kustomize})
			if tt.wantKeys != nil {
				if got := keys(res.Objects); !slices.Equal(got, tt.wantKeys) {
					t.Errorf("objects = %v, want %v", got, tt.wantKeys)
				}
			}
			if tt.wantFiles != nil && !slices.Equal(res.Files, tt.wantFiles) {
				t.Errorf("files = %v, want %v", res.Files, tt.wantFiles)
			}
			tt.check(t, res)
		})
	}
}

func TestKustomizeSources(t *testing.T) {
	tree := testrepo.Tree(t, with(baseFiles(), map[string]string{
		"overlays/prod/kustomization.yaml": "resources:\n- ../../base\n- extra.yaml\n",
		"overlays/prod/extra.yaml":         "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n",
	}))
	res := render(t, tree, environment.Environment{Name: "prod", Path: "overlays/prod", Type: environment.Kustomize, File: "apps/prod.yaml"})
	want := map[string]string{
		"Deployment/web":  "base/deploy.yaml",
		"Service/web":     "base/service.yaml",
		"ConfigMap/extra": "overlays/prod/extra.yaml",
	}
	for _, o := range res.Objects {
		if got := want[o.Key.Kind+"/"+o.Key.Name]; got != o.Source {
			t.Errorf("%s source = %q, want %q", o.Key, o.Source, got)
		}
		// The origin annotation ferry turned on to find sources must not leak.
		if ann := field(o.Object, "metadata", "annotations"); ann != nil {
			t.Errorf("%s has annotations %v", o.Key, ann)
		}
	}
	if !slices.Contains(res.Files, "apps/prod.yaml") {
		t.Errorf("env.File missing from %v", res.Files)
	}
}

func TestKustomizeKeepsRequestedOriginAnnotations(t *testing.T) {
	tree := testrepo.Tree(t, map[string]string{
		"app/kustomization.yaml": "resources:\n- cm.yaml\nbuildMetadata: [originAnnotations]\n",
		"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
	})
	res := render(t, tree, environment.Environment{Name: "e", Path: "app", Type: environment.Kustomize})
	got := field(res.Objects[0].Object, "metadata", "annotations", "config.kubernetes.io/origin")
	if got != "path: cm.yaml\n" {
		t.Errorf("origin annotation = %#v", got)
	}
}

func TestKustomizeArgoOverrides(t *testing.T) {
	files := with(baseFiles(), map[string]string{
		"app/kustomization.yaml": `resources:
- ../base
commonLabels:
  team: shop
images:
- name: redis
  newTag: "7"
- name: nginx
  newName: mirror.example.com/nginx
  newTag: "1.1"
`,
	})
	tests := []struct {
		name    string
		ks      environment.KustomizeSource
		check   func(t *testing.T, res *Result)
		wantErr string
	}{
		{
			name: "image tag replaces the whole entry",
			ks:   environment.KustomizeSource{Images: []string{"nginx:2.0"}},
			check: func(t *testing.T, res *Result) {
				// `kustomize edit set image nginx:2.0` drops the entry's newName.
				if got := image(t, res); got != "nginx:2.0" {
					t.Errorf("image = %s", got)
				}
			},
		},
		{
			name: "image with new name and preserved tag",
			ks:   environment.KustomizeSource{Images: []string{"nginx=quay.io/nginx:*"}},
			check: func(t *testing.T, res *Result) {
				if got := image(t, res); got != "quay.io/nginx:1.1" {
					t.Errorf("image = %s", got)
				}
			},
		},
		{
			name: "image digest",
			ks:   environment.KustomizeSource{Images: []string{"nginx@sha256:" + strings.Repeat("a", 64)}},
			check: func(t *testing.T, res *Result) {
				if got := image(t, res); got != "nginx@sha256:"+strings.Repeat("a", 64) {
					t.Errorf("image = %s", got)
				}
			},
		},
		{
			name: "replicas, prefix, suffix, namespace and labels",
			ks: environment.KustomizeSource{
				Replicas:     []environment.Replica{{Name: "web", Count: 4}},
				NamePrefix:   "p-",
				NameSuffix:   "-s",
				Namespace:    "override",
				CommonLabels: map[string]string{"env": "staging"},
			},
			check: func(t *testing.T, res *Result) {
				d := find(t, res.Objects, "Deployment", "p-web-s")
				if d.Key.Namespace != "override" {
					t.Errorf("namespace = %q", d.Key.Namespace)
				}
				if got := field(d.Object, "spec", "replicas"); got != float64(4) {
					t.Errorf("replicas = %#v", got)
				}
				for _, l := range []string{"team", "env"} {
					if field(d.Object, "metadata", "labels", l) == nil || field(d.Object, "spec", "selector", "matchLabels", l) == nil {
						t.Errorf("label %s missing from labels or selector", l)
					}
				}
				// The image entry from the kustomization is untouched.
				if got := image(t, res); got != "mirror.example.com/nginx:1.1" {
					t.Errorf("image = %s", got)
				}
			},
		},
		{
			name:    "label already in the kustomization fails like kustomize edit add label",
			ks:      environment.KustomizeSource{CommonLabels: map[string]string{"team": "other"}},
			wantErr: "label team already in kustomization file",
		},
		{
			name:    "malformed image",
			ks:      environment.KustomizeSource{Images: []string{"nginx"}},
			wantErr: "invalid image override",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := testrepo.Tree(t, files)
			env := environment.Environment{Name: "e", Path: "app", Type: environment.Kustomize, Kustomize: &tt.ks}
			res, err := Render(context.Background(), tree, env, Options{})
			if tt.wantErr != "" {
				var re *Error
				if !errors.As(err, &re) || re.File != "app/kustomization.yaml" || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want *Error in app/kustomization.yaml containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, res)
			// The overrides live only in that render: the tree is unchanged
			// and a plain render sees the original kustomization.
			data, err := tree.ReadFile("app/kustomization.yaml")
			if err != nil || string(data) != files["app/kustomization.yaml"] {
				t.Fatalf("tree content changed: %q, %v", data, err)
			}
			plain := render(t, tree, environment.Environment{Name: "e", Path: "app", Type: environment.Kustomize})
			if got := image(t, plain); got != "mirror.example.com/nginx:1.1" {
				t.Errorf("plain render image = %s", got)
			}
		})
	}
}

func image(t *testing.T, res *Result) string {
	t.Helper()
	for _, o := range res.Objects {
		if o.Key.Kind == "Deployment" {
			s, _ := field(o.Object, "spec", "template", "spec", "containers", 0, "image").(string)
			return s
		}
	}
	t.Fatal("no deployment")
	return ""
}

func TestKustomizeErrorsAreLocated(t *testing.T) {
	tests := []struct {
		name     string
		tree     map[string]string
		wantFile string
		wantLine int
		wantMsg  string
	}{
		{
			name:     "kustomization YAML syntax",
			tree:     map[string]string{"app/kustomization.yaml": "resources:\n- a.yaml\n  bad: [\n"},
			wantFile: "app/kustomization.yaml",
			wantLine: 3,
		},
		{
			name:     "unknown kustomization field",
			tree:     map[string]string{"app/kustomization.yaml": "resources: []\nnamePrefx: x-\n"},
			wantFile: "app/kustomization.yaml",
			wantLine: 2,
			wantMsg:  "namePrefx",
		},
		{
			name: "invalid resource YAML in a base",
			tree: map[string]string{
				"app/kustomization.yaml":  "resources:\n- ../base\n",
				"base/kustomization.yaml": "resources:\n- cm.yaml\n",
				"base/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: [\n",
			},
			wantFile: "base/cm.yaml",
			wantLine: 4,
		},
		{
			name:     "missing resource",
			tree:     map[string]string{"app/kustomization.yaml": "resources:\n- one.yaml\n- missing.yaml\n", "app/one.yaml": serviceYAML},
			wantFile: "app/kustomization.yaml",
			wantLine: 3,
			wantMsg:  `"missing.yaml" not found`,
		},
		{
			name: "patch without a target, reported by kustomize",
			tree: map[string]string{
				"app/kustomization.yaml": "resources:\n- svc.yaml\npatchesStrategicMerge:\n- patch.yaml\n",
				"app/svc.yaml":           serviceYAML,
				"app/patch.yaml":         "apiVersion: v1\nkind: Service\nmetadata:\n  name: nope\n",
			},
			wantFile: "app/kustomization.yaml",
			wantMsg:  "nope",
		},
		{
			name:     "no kustomization",
			tree:     map[string]string{"app/deploy.yaml": deployYAML},
			wantFile: "app",
			wantMsg:  "no kustomization file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(context.Background(), testrepo.Tree(t, tt.tree), environment.Environment{Name: "e", Path: "app", Type: environment.Kustomize}, Options{})
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if re.Env != "e" || re.File != tt.wantFile || re.Line != tt.wantLine {
				t.Errorf("error at env=%q %s:%d, want %s:%d (%v)", re.Env, re.File, re.Line, tt.wantFile, tt.wantLine, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), kustRoot) {
				t.Errorf("error leaks the virtual root: %v", err)
			}
		})
	}
}

func TestKustomizeThroughGit(t *testing.T) {
	files := with(baseFiles(), map[string]string{
		"base/kustomization.yaml":          "resources:\n- deploy.yaml\n",
		"overlays/prod/kustomization.yaml": "resources:\n- ../../base\n- link.yaml\nnameSuffix: -x\n",
		// A link inside the overlay; one climbing out to ../../base would be
		// refused, as by `kustomize build` (LoadRestrictionsRootOnly).
		"overlays/prod/link.yaml":          "symlink:files/service.yaml",
		"overlays/prod/files/service.yaml": baseFiles()["base/service.yaml"],
	})
	git := render(t, gitTree(t, files), environment.Environment{Name: "prod", Path: "overlays/prod", Type: environment.Kustomize})
	dir := render(t, testrepo.Tree(t, files), environment.Environment{Name: "prod", Path: "overlays/prod", Type: environment.Kustomize})
	want := []string{"Service/web-x", "apps/Deployment/web-x"}
	if got := keys(git.Objects); !slices.Equal(got, want) {
		t.Errorf("git objects = %v, want %v", got, want)
	}
	// Both the link and its target are recorded: a change to either matters.
	wantFiles := []string{"base/deploy.yaml", "base/kustomization.yaml", "overlays/prod/files/service.yaml", "overlays/prod/kustomization.yaml", "overlays/prod/link.yaml"}
	if !slices.Equal(git.Files, wantFiles) {
		t.Errorf("git files = %v, want %v", git.Files, wantFiles)
	}
	if !slices.Equal(dir.Files, git.Files) || !slices.Equal(keys(dir.Objects), keys(git.Objects)) {
		t.Errorf("dir and git trees render differently: %v %v vs %v %v", keys(dir.Objects), dir.Files, keys(git.Objects), git.Files)
	}
}
