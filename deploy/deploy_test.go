// Package deploy_test checks the Kustomize layouts in deploy/: each builds
// the same with kustomize's Go API and the reference kustomize CLI, has the
// properties deploy/README.md promises, and a real kube-apiserver accepts it
// (server-side apply, dry run: apply_test.go). It holds only tests.
package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aymanbagabas/go-udiff"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/ferry-gitops/ferry/internal/cli"
	"github.com/ferry-gitops/ferry/internal/reftools"
)

// layout is one directory `kubectl apply -k` takes, with what its build
// must hold.
type layout struct {
	name, dir string
	replicas  int32
	strategy  appsv1.DeploymentStrategyType
	// pvc: the data directory is on the PersistentVolumeClaim ferry-data;
	// otherwise on an emptyDir, and there is no claim at all.
	pvc bool
	// databaseURL is the Secret "name/key" FERRY_DATABASE_URL comes from;
	// "": the variable is unset (SQLite).
	databaseURL string
	pdb         bool // a PodDisruptionBudget keeps one replica up
	rbac        bool // ClusterRole and ClusterRoleBinding for in-cluster sync
}

var layouts = []layout{
	{name: "base", dir: "base", replicas: 1, strategy: appsv1.RecreateDeploymentStrategyType, pvc: true},
	{name: "postgres", dir: filepath.Join("overlays", "postgres"), replicas: 2, strategy: appsv1.RollingUpdateDeploymentStrategyType,
		databaseURL: "ferry-database/url", pdb: true, rbac: true},
}

// namespace is where every namespaced object goes.
const namespace = "ferry"

// build runs kustomize's Go API on dir, as `kustomize build dir` would.
func build(t *testing.T, dir string) []byte {
	t.Helper()
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionUnspecified // the CLI's default: legacy order (Namespace first)
	m, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return out
}

// TestBuildMatchesKustomizeCLI: the Go API and the CLI users run build each
// layout to the same bytes.
func TestBuildMatchesKustomizeCLI(t *testing.T) {
	kustomize := reftools.Path(t, "kustomize")
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			got := build(t, l.dir)
			cmd := exec.CommandContext(t.Context(), kustomize, "build", l.dir)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			want, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s build %s: %v\n%s", kustomize, l.dir, err, stderr.String())
			}
			if len(got) == 0 {
				t.Fatalf("kustomize build %s: empty output", l.dir)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("krusty and the kustomize CLI differ on %s:\n%s", l.dir, udiff.Unified("cli", "krusty", string(want), string(got)))
			}
		})
	}
}

// decode splits a build's YAML stream into objects.
func decode(t *testing.T, stream []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return objs
		}
		if err != nil {
			t.Fatalf("read build output: %v", err)
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("build output: %v", err)
		}
		if strings.TrimSpace(string(js)) == "null" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(js); err != nil {
			t.Fatalf("build output: %v\n%s", err, doc)
		}
		objs = append(objs, u)
	}
}

// manifests is one layout's build, the objects the assertions look at typed.
type manifests struct {
	objs       []*unstructured.Unstructured
	deployment appsv1.Deployment
	container  corev1.Container
	service    corev1.Service
	pvc        *corev1.PersistentVolumeClaim
	pdb        *policyv1.PodDisruptionBudget
	role       *rbacv1.ClusterRole
	binding    *rbacv1.ClusterRoleBinding
}

func load(t *testing.T, dir string) manifests {
	t.Helper()
	m := manifests{objs: decode(t, build(t, dir))}
	m.deployment = *mustFind[appsv1.Deployment](t, m.objs, "Deployment", "ferry")
	m.service = *mustFind[corev1.Service](t, m.objs, "Service", "ferry")
	mustFind[corev1.ServiceAccount](t, m.objs, "ServiceAccount", "ferry")
	m.pvc = find[corev1.PersistentVolumeClaim](t, m.objs, "PersistentVolumeClaim", "ferry-data")
	m.pdb = find[policyv1.PodDisruptionBudget](t, m.objs, "PodDisruptionBudget", "ferry")
	m.role = find[rbacv1.ClusterRole](t, m.objs, "ClusterRole", "ferry")
	m.binding = find[rbacv1.ClusterRoleBinding](t, m.objs, "ClusterRoleBinding", "ferry")
	if cs := m.deployment.Spec.Template.Spec.Containers; len(cs) != 1 || cs[0].Name != "ferry" {
		t.Fatalf("%s: want one container named ferry, got %d", dir, len(cs))
	}
	m.container = m.deployment.Spec.Template.Spec.Containers[0]
	for _, u := range m.objs {
		if kind := u.GetKind(); u.GetNamespace() != namespace && !clusterScoped[kind] {
			t.Errorf("%s %s: namespace %q, want %q", kind, u.GetName(), u.GetNamespace(), namespace)
		}
	}
	return m
}

// clusterScoped are the cluster-scoped kinds the layouts hold.
var clusterScoped = map[string]bool{"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true}

// find returns the object of that kind and name, typed; nil when absent.
func find[T any](t *testing.T, objs []*unstructured.Unstructured, kind, name string) *T {
	t.Helper()
	for _, u := range objs {
		if u.GetKind() == kind && u.GetName() == name {
			v := new(T)
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, v); err != nil {
				t.Fatalf("%s %s: %v", kind, name, err)
			}
			return v
		}
	}
	return nil
}

func mustFind[T any](t *testing.T, objs []*unstructured.Unstructured, kind, name string) *T {
	t.Helper()
	v := find[T](t, objs, kind, name)
	if v == nil {
		t.Fatalf("no %s %s in the build", kind, name)
	}
	return v
}

// serveEnv is the set of FERRY_* variables `ferry serve` reads, from its
// help: every flag's usage names its variable in parentheses.
var serveEnv = sync.OnceValues(func() (map[string]bool, string) {
	var out, errOut bytes.Buffer
	if code := cli.Run(context.Background(), []string{"serve", "--help"}, strings.NewReader(""), &out, &errOut); code != 0 {
		return nil, errOut.String()
	}
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`\((FERRY_[A-Z_]+)\)`).FindAllStringSubmatch(out.String(), -1) {
		names[m[1]] = true
	}
	return names, ""
})
