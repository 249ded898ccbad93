package normalize

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/ferry-gitops/ferry/internal/environment"
)

const deploymentYAML = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    a/b: x
    "0": zero
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: app
        image: app:1
        env:
        - name: A
          value: "1"
      - name: sidecar
        image: proxy:1
      - name: other
        image: other:1
`

func object(t *testing.T, src string) map[string]any {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(src), &obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

// hpaManaged is managedFields as the API server records an HPA's scale.
func hpaManaged(manager string) []metav1.ManagedFieldsEntry {
	return []metav1.ManagedFieldsEntry{{
		Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate, FieldsType: "FieldsV1",
		FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"sidecar\"}":{".":{},"f:image":{}}}}}}}`)},
	}}
}

var web = Object{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}

func TestRemove(t *testing.T) {
	tests := []struct {
		name    string
		diffs   []environment.IgnoreDifference
		obj     Object
		managed []metav1.ManagedFieldsEntry
		// gone are the JSON pointers expected removed (with their
		// values), kept those expected to remain.
		gone, kept []string
	}{
		{name: "json pointer",
			diffs: []environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}},
			gone:  []string{"/spec/replicas"}, kept: []string{"/spec/template/spec/containers/0/image"}},
		{name: "escaped pointer and digit key on a map",
			diffs: []environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/metadata/annotations/a~1b", "/metadata/annotations/0"}}},
			gone:  []string{"/metadata/annotations/a~1b", "/metadata/annotations/0"}, kept: []string{"/spec/replicas"}},
		{name: "pointer into a list",
			diffs: []environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/template/spec/containers/1/image"}}},
			gone:  []string{"/spec/template/spec/containers/1/image"}, kept: []string{"/spec/template/spec/containers/0/image"}},
		{name: "missing pointer is no error",
			diffs: []environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/nope"}}},
			kept:  []string{"/spec/replicas"}},
		{name: "jq select on containers",
			diffs: []environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", JQPathExpressions: []string{`.spec.template.spec.containers[] | select(.name == "sidecar").image`}}},
			gone:  []string{"/spec/template/spec/containers/1/image"}, kept: []string{"/spec/template/spec/containers/0/image", "/spec/template/spec/containers/2/image"}},
		{name: "jq removing list elements keeps the rest in order",
			diffs: []environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", JQPathExpressions: []string{`.spec.template.spec.containers[] | select(.name != "other")`}}},
			kept:  []string{"/spec/template/spec/containers/0/name=other"}},
		{name: "jq error on this object selects nothing",
			diffs: []environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", JQPathExpressions: []string{`.spec.template.spec.initContainers[].image`}}},
			kept:  []string{"/spec/replicas"}},
		{name: "managers",
			diffs:   []environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", ManagedFieldsManagers: []string{"hpa"}}},
			managed: hpaManaged("hpa"),
			gone:    []string{"/spec/replicas", "/spec/template/spec/containers/1/image"}, kept: []string{"/spec/template/spec/containers/1/name=sidecar", "/spec/template/spec/containers/0/image"}},
		{name: "other manager ignored",
			diffs:   []environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", ManagedFieldsManagers: []string{"hpa"}}},
			managed: hpaManaged("kubectl-edit"),
			kept:    []string{"/spec/replicas"}},
		{name: "kind and group wildcards",
			diffs: []environment.IgnoreDifference{{Group: "*", Kind: "*", JSONPointers: []string{"/spec/replicas"}}},
			gone:  []string{"/spec/replicas"}},
		{name: "group glob",
			diffs: []environment.IgnoreDifference{{Group: "app*", Kind: "Deploy*", JSONPointers: []string{"/spec/replicas"}}},
			gone:  []string{"/spec/replicas"}},
		{name: "core group does not match apps",
			diffs: []environment.IgnoreDifference{{Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}},
			kept:  []string{"/spec/replicas"}},
		{name: "name and namespace must match",
			diffs: []environment.IgnoreDifference{
				{Group: "apps", Kind: "Deployment", Name: "api", JSONPointers: []string{"/spec/replicas"}},
				{Group: "apps", Kind: "Deployment", Name: "web", Namespace: "other", JSONPointers: []string{"/spec/replicas"}},
			},
			kept: []string{"/spec/replicas"}},
		{name: "name and namespace matching",
			diffs: []environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", Name: "web", Namespace: "shop", JSONPointers: []string{"/spec/replicas"}}},
			gone:  []string{"/spec/replicas"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := object(t, deploymentYAML)
			before, _ := json.Marshal(obj)
			got, err := New(tt.diffs).Remove(context.Background(), web, obj, tt.managed)
			if err != nil {
				t.Fatal(err)
			}
			if after, _ := json.Marshal(obj); string(after) != string(before) {
				t.Errorf("Remove modified its input")
			}
			for _, p := range tt.gone {
				if _, ok := lookup(t, got, p); ok {
					t.Errorf("%s still present", p)
				}
				if _, ok := lookup(t, obj, p); !ok {
					t.Errorf("%s: test is wrong, not in the input", p)
				}
			}
			for _, p := range tt.kept {
				if _, ok := lookup(t, got, p); !ok {
					t.Errorf("%s removed", p)
				}
			}
		})
	}
}

// lookup reads a JSON pointer; a last token "k=v" checks a field's value.
func lookup(t *testing.T, obj map[string]any, ptr string) (any, bool) {
	t.Helper()
	toks, err := environment.ParsePointer(ptr)
	if err != nil {
		t.Fatal(err)
	}
	want := ""
	if last := toks[len(toks)-1]; len(last) > 0 {
		for i := range last {
			if last[i] == '=' {
				toks[len(toks)-1], want = last[:i], last[i+1:]
			}
		}
	}
	v, ok := resolve(obj, pointerPath(toks))
	if ok && want != "" {
		return v, v == want
	}
	return v, ok
}

func TestRemoveRemovedElementsOrder(t *testing.T) {
	obj := object(t, deploymentYAML)
	n := New([]environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", JQPathExpressions: []string{`.spec.template.spec.containers[] | select(.name != "sidecar")`}}})
	got, err := n.Remove(context.Background(), web, obj, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs := got["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
	if len(cs) != 1 || cs[0].(map[string]any)["name"] != "sidecar" {
		t.Errorf("containers = %v, want only sidecar", cs)
	}
}

func TestLimits(t *testing.T) {
	tests := []struct {
		name string
		expr string
	}{
		{"endless", `repeat(.)`},
		{"too many paths", `..`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := New([]environment.IgnoreDifference{{Group: "*", Kind: "*", JQPathExpressions: []string{tt.expr}}}).WithLimits(50*time.Millisecond, 5)
			start := time.Now()
			_, err := n.Remove(context.Background(), web, object(t, deploymentYAML), nil)
			if !errors.Is(err, ErrLimit) {
				t.Fatalf("err = %v, want ErrLimit", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		d       environment.IgnoreDifference
		wantErr bool
	}{
		{"fine", environment.IgnoreDifference{Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}, JQPathExpressions: []string{`.spec.x[] | select(.a == "b")`}}, false},
		{"no kind", environment.IgnoreDifference{JSONPointers: []string{"/spec"}}, true},
		{"pointer without slash", environment.IgnoreDifference{Kind: "X", JSONPointers: []string{"spec/replicas"}}, true},
		{"bad escape", environment.IgnoreDifference{Kind: "X", JSONPointers: []string{"/a~2b"}}, true},
		{"whole object", environment.IgnoreDifference{Kind: "X", JSONPointers: []string{""}}, true},
		{"jq syntax", environment.IgnoreDifference{Kind: "X", JQPathExpressions: []string{`.spec[`}}, true},
		{"jq unknown function", environment.IgnoreDifference{Kind: "X", JQPathExpressions: []string{`nosuch(.a)`}}, true},
		{"jq import", environment.IgnoreDifference{Kind: "X", JQPathExpressions: []string{`import "a" as a; .b`}}, true},
		{"bad glob", environment.IgnoreDifference{Kind: "[", JSONPointers: []string{"/a"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.d.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				// A stored bad entry fails the objects it matches.
				_, err := New([]environment.IgnoreDifference{tt.d}).Remove(context.Background(), Object{Kind: tt.d.Kind}, map[string]any{}, nil)
				if tt.d.Kind != "" && tt.d.Kind != "[" && err == nil {
					t.Errorf("Remove with a bad entry: no error")
				}
			}
		})
	}
}

func TestRespect(t *testing.T) {
	want := object(t, deploymentYAML)
	live := object(t, deploymentYAML)
	live["spec"].(map[string]any)["replicas"] = int64(7)
	delete(live["metadata"].(map[string]any)["annotations"].(map[string]any), "a/b")
	live["metadata"].(map[string]any)["annotations"].(map[string]any)["0"] = "live-zero"
	lc := live["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
	lc[1].(map[string]any)["image"] = "proxy:9"
	n := New([]environment.IgnoreDifference{{Group: "apps", Kind: "Deployment",
		JSONPointers:          []string{"/metadata/annotations/a~1b", "/metadata/annotations/0"},
		ManagedFieldsManagers: []string{"hpa"}}})
	got, err := n.Respect(context.Background(), web, want, live, hpaManaged("hpa"))
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]any{
		"/spec/replicas":                         int64(7),
		"/spec/template/spec/containers/1/image": "proxy:9",
		"/spec/template/spec/containers/0/image": "app:1",
		"/metadata/annotations/0":                "live-zero",
	}
	for p, v := range checks {
		if got, _ := lookup(t, got, p); !reflect.DeepEqual(got, v) {
			t.Errorf("%s = %v, want %v", p, got, v)
		}
	}
	if _, ok := lookup(t, got, "/metadata/annotations/a~1b"); ok {
		t.Errorf("an ignored field absent live is still applied")
	}
	if v, _ := lookup(t, want, "/spec/replicas"); v != float64(3) {
		t.Errorf("Respect modified want")
	}
}

func TestNilNormalizer(t *testing.T) {
	var n *Normalizer
	obj := object(t, deploymentYAML)
	got, err := n.Remove(context.Background(), web, obj, nil)
	if err != nil || !reflect.DeepEqual(got, obj) || n.Matches(web) {
		t.Errorf("nil normalizer changed something: %v", err)
	}
	if New(nil) != nil {
		t.Errorf("New(nil) is not nil")
	}
}
