package drift

import (
	"context"
	"slices"
	"strconv"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/normalize"
)

// ignoringDesired is desiredState with the app's ignoreDifferences.
type ignoringDesired struct {
	*desiredState
	n *normalize.Normalizer
}

func (d ignoringDesired) Ignore(string) *normalize.Normalizer { return d.n }

// setupIgnoring is setup with ignore rules.
func setupIgnoring(t *testing.T, ignore []environment.IgnoreDifference) *testEnv {
	t.Helper()
	c := newCluster(t)
	objs, err := manifest.Parse([]byte(paymentService()), "payment-service.yaml")
	if err != nil {
		t.Fatal(err)
	}
	desired := &desiredState{}
	ns := syncApp(t, c, desired, app, "ignore", objs)
	w := NewWatcher(c, ignoringDesired{desiredState: desired, n: normalize.New(ignore)}, DefaultOptions())
	events := runWatcher(t, w, t.Errorf, []schema.GroupVersionKind{{Group: "apps", Version: "v1", Kind: "Deployment"}, {Version: "v1", Kind: "ConfigMap"}})
	return &testEnv{dyn: c.Dynamic, ns: ns, events: events, desired: desired}
}

// autoscale sets replicas through the scale subresource, as the HPA
// controller does (an Update, recorded with subresource scale).
func (e *testEnv) autoscale(t *testing.T, manager string, replicas int) {
	t.Helper()
	patch := []byte(`{"spec":{"replicas":` + strconv.Itoa(replicas) + `}}`)
	if _, err := e.dyn.Resource(deployments).Namespace(e.ns).Patch(context.Background(), "payment-service", types.MergePatchType,
		patch, metav1.PatchOptions{FieldManager: manager}, "scale"); err != nil {
		t.Fatalf("autoscale: %v", err)
	}
}

func setImage(image string) func(u *unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		cs[0].(map[string]any)["image"] = image
		_ = unstructured.SetNestedSlice(u.Object, cs, "spec", "template", "spec", "containers")
	}
}

// TestIgnoreDifferences: a change to an ignored field is no drift (so no
// self-heal), while another field of the same object still drifts: the
// first event after both changes names only the other field.
func TestIgnoreDifferences(t *testing.T) {
	const image = "spec.template.spec.containers[name=payment-service].image"
	tests := []struct {
		name       string
		ignore     []environment.IgnoreDifference
		change     func(t *testing.T, e *testEnv) // to an ignored field
		sentinel   func(t *testing.T, e *testEnv) // to one that is not
		wantFields []string
	}{
		{
			name:   "jsonPointers: an HPA scales the Deployment",
			ignore: []environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}},
			change: func(t *testing.T, e *testEnv) { e.autoscale(t, "horizontal-pod-autoscaler", 5) },
			sentinel: func(t *testing.T, e *testEnv) {
				e.edit(t, deployments, "payment-service", "kubectl-edit", setImage("payment-service:hotfix"))
			},
			wantFields: []string{image},
		},
		{
			name:   "managedFieldsManagers: the HPA's fields",
			ignore: []environment.IgnoreDifference{{Group: "*", Kind: "*", ManagedFieldsManagers: []string{"horizontal-pod-autoscaler"}}},
			change: func(t *testing.T, e *testEnv) { e.autoscale(t, "horizontal-pod-autoscaler", 6) },
			sentinel: func(t *testing.T, e *testEnv) {
				e.edit(t, deployments, "payment-service", "kubectl-edit", setImage("payment-service:hotfix"))
			},
			wantFields: []string{image},
		},
		{
			name:   "jqPathExpressions: one container's image",
			ignore: []environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", JQPathExpressions: []string{`.spec.template.spec.containers[] | select(.name == "payment-service").image`}}},
			change: func(t *testing.T, e *testEnv) {
				e.edit(t, deployments, "payment-service", "image-updater", setImage("payment-service:1.5.0"))
			},
			sentinel:   func(t *testing.T, e *testEnv) { e.autoscale(t, "horizontal-pod-autoscaler", 4) },
			wantFields: []string{"spec.replicas"},
		},
		{
			name:       "a rule for another name ignores nothing here",
			ignore:     []environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", Name: "other", JSONPointers: []string{"/spec/replicas"}}},
			change:     func(t *testing.T, e *testEnv) {},
			sentinel:   func(t *testing.T, e *testEnv) { e.autoscale(t, "horizontal-pod-autoscaler", 5) },
			wantFields: []string{"spec.replicas"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setupIgnoring(t, tt.ignore)
			tt.change(t, e)
			tt.sentinel(t, e)
			ev := e.next(t)
			if ev.Kind != Modified || !slices.Equal(ev.Fields, tt.wantFields) {
				t.Fatalf("event = %s %v, want %s %v", ev.Kind, ev.Fields, Modified, tt.wantFields)
			}
		})
	}
}
