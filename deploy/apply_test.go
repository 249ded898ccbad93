package deploy_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/ferry-gitops/ferry/internal/clustertest"
)

// TestServerSideDryRun applies each layout's build to a real kube-apiserver
// with server-side apply: the Namespace for real (namespaced objects need
// it), everything else as a dry run with strict field validation. The API
// server must accept every object, keep every field the build sets (none
// unknown or dropped), and persist none of the dry-run objects. Then the
// overlay's RBAC, applied for real, must let ferry's ServiceAccount do what
// a sync does, and no more.
func TestServerSideDryRun(t *testing.T) {
	cfg := clustertest.Start(t)
	a := newApplier(t, cfg)
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			objs := decode(t, build(t, l.dir))
			for _, u := range objs { // the Namespace comes first in a build
				dryRun := u.GetKind() != "Namespace"
				got := a.apply(t, u, dryRun)
				for _, diff := range missing(u.Object, got.Object, "") {
					t.Errorf("%s %s: the API server's object differs from the build's: %s", u.GetKind(), u.GetName(), diff)
				}
			}
			for _, u := range objs {
				if u.GetKind() == "Namespace" {
					continue
				}
				_, err := a.resource(t, u).Get(t.Context(), u.GetName(), metav1.GetOptions{})
				if !apierrors.IsNotFound(err) {
					t.Errorf("%s %s after a dry run: got error %v, want NotFound", u.GetKind(), u.GetName(), err)
				}
			}
		})
	}
	t.Run("rbac", func(t *testing.T) { checkAccess(t, cfg, a) })
}

// applier applies objects with server-side apply as ferry's syncer does.
type applier struct {
	dyn    dynamic.Interface
	mapper meta.RESTMapper
}

func newApplier(t *testing.T, cfg *rest.Config) applier {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := restmapper.GetAPIGroupResources(cs.Discovery())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return applier{dyn: dyn, mapper: restmapper.NewDiscoveryRESTMapper(groups)}
}

func (a applier) resource(t *testing.T, u *unstructured.Unstructured) dynamic.ResourceInterface {
	t.Helper()
	gvk := u.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		t.Fatalf("%s %s: %v", gvk, u.GetName(), err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return a.dyn.Resource(m.Resource).Namespace(u.GetNamespace())
	}
	return a.dyn.Resource(m.Resource)
}

func (a applier) apply(t *testing.T, u *unstructured.Unstructured, dryRun bool) *unstructured.Unstructured {
	t.Helper()
	data, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: "ferry-test", Force: &force, FieldValidation: metav1.FieldValidationStrict}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	got, err := a.resource(t, u).Patch(t.Context(), u.GetName(), types.ApplyPatchType, data, opts)
	if err != nil {
		t.Fatalf("apply %s %s (dry run %v): %v", u.GetKind(), u.GetName(), dryRun, err)
	}
	return got
}

// missing lists the fields of want that got lacks or holds another value
// in; got may have more (the server's defaults). Lists compare by index.
func missing(want, got any, path string) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %v, want an object", path, got)}
		}
		var out []string
		for k, v := range w {
			out = append(out, missing(v, g[k], path+"."+k)...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: got %v, want %v", path, got, want)}
		}
		var out []string
		for i := range w {
			out = append(out, missing(w[i], g[i], fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	default:
		if !reflect.DeepEqual(want, got) {
			return []string{fmt.Sprintf("%s: got %v, want %v", path, got, want)}
		}
		return nil
	}
}

// checkAccess applies the overlay's ClusterRole and ClusterRoleBinding for
// real and asks the API server what ferry's ServiceAccount may do.
func checkAccess(t *testing.T, cfg *rest.Config, a applier) {
	m := load(t, layouts[len(layouts)-1].dir)
	if m.role == nil {
		t.Fatalf("the %s layout has no RBAC", layouts[len(layouts)-1].name)
	}
	for _, u := range m.objs {
		if kind := u.GetKind(); kind == "ClusterRole" || kind == "ClusterRoleBinding" {
			a.apply(t, u, false)
		}
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	user := "system:serviceaccount:" + namespace + ":" + m.deployment.Spec.Template.Spec.ServiceAccountName
	// Allowed cases first: waiting for them lets the authorizer see the
	// binding before a denial is taken at its word.
	for _, c := range []struct {
		verb, group, resource, namespace string
		allowed                          bool
	}{
		{"patch", "apps", "deployments", "shop", true},
		{"create", "", "namespaces", "", true},
		{"watch", "", "configmaps", "", true},
		{"delete", "networking.k8s.io", "ingresses", "shop", true},
		{"update", "example.com", "widgets", "shop", true}, // a custom resource
		{"deletecollection", "", "pods", "shop", false},
		{"escalate", "rbac.authorization.k8s.io", "clusterroles", "", false},
		{"bind", "rbac.authorization.k8s.io", "clusterroles", "", false},
		{"impersonate", "", "users", "", false},
	} {
		attrs := &authorizationv1.ResourceAttributes{Verb: c.verb, Group: c.group, Resource: c.resource, Namespace: c.namespace}
		// The authorizer's cache sees the new binding within moments.
		var allowed bool
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			review, err := cs.AuthorizationV1().SubjectAccessReviews().Create(t.Context(), &authorizationv1.SubjectAccessReview{
				Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: []string{"system:serviceaccounts"}, ResourceAttributes: attrs},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("SubjectAccessReview: %v", err)
			}
			allowed = review.Status.Allowed
			if allowed == c.allowed || !c.allowed || time.Now().After(deadline) {
				break
			}
		}
		if allowed != c.allowed {
			t.Errorf("%s may %s %s.%s in %q: %v, want %v", user, c.verb, c.resource, c.group, c.namespace, allowed, c.allowed)
		}
	}
}
