package syncer

import (
	"errors"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/normalize"
)

func webDeployment(replicas int, image string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: %d
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: %s
`, replicas, image)
}

func webKey(ns string) manifest.Key {
	return manifest.Key{Group: "apps", Kind: "Deployment", Namespace: ns, Name: "web"}
}

// autoscale sets the Deployment's replicas through the scale subresource,
// as the HPA controller does.
func autoscale(t *testing.T, s *Syncer, ns string, replicas int) {
	t.Helper()
	ri, err := s.resourceFor(webKey(ns))
	if err != nil {
		t.Fatal(err)
	}
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)
	if _, err := ri.Patch(ctxFor(t), "web", types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "horizontal-pod-autoscaler"}, "scale"); err != nil {
		t.Fatalf("autoscale: %v", err)
	}
}

func nested(t *testing.T, obj map[string]any, fields ...string) any {
	t.Helper()
	v, _, err := unstructured.NestedFieldNoCopy(obj, fields...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func containerImage(t *testing.T, obj map[string]any) any {
	t.Helper()
	cs, _ := nested(t, obj, "spec", "template", "spec", "containers").([]any)
	if len(cs) == 0 {
		return nil
	}
	return cs[0].(map[string]any)["image"]
}

// TestRespectIgnoreDifferences: with RespectIgnoreDifferences=true a sync
// leaves the ignored fields as they are live (an HPA's replicas) and still
// applies the rest of the render; without it, it resets them.
func TestRespectIgnoreDifferences(t *testing.T) {
	tests := []struct {
		name         string
		respect      *normalize.Normalizer
		wantReplicas int64
		wantErr      error
	}{
		{name: "off: the sync resets replicas", wantReplicas: 2},
		{name: "jsonPointers", wantReplicas: 5,
			respect: normalize.New([]environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}})},
		{name: "managedFieldsManagers", wantReplicas: 5,
			respect: normalize.New([]environment.IgnoreDifference{{Group: "*", Kind: "*", ManagedFieldsManagers: []string{"horizontal-pod-autoscaler"}}})},
		{name: "jq", wantReplicas: 5,
			respect: normalize.New([]environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", JQPathExpressions: []string{".spec.replicas"}}})},
		{name: "another kind's rule: reset", wantReplicas: 2,
			respect: normalize.New([]environment.IgnoreDifference{{Group: "apps", Kind: "StatefulSet", JSONPointers: []string{"/spec/replicas"}}})},
		{name: "a rule over its limits fails the object", wantErr: normalize.ErrLimit,
			respect: normalize.New([]environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", JQPathExpressions: []string{"repeat(.)"}}}).WithLimits(50*time.Millisecond, 10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, opts, inv := syncedApp(t, []string{webDeployment(2, "web:1")})
			autoscale(t, s, opts.Namespace, 5)
			opts.RespectIgnore = tt.respect
			cs, _, err := s.Sync(ctxFor(t), parse(t, webDeployment(2, "web:2")), inv, opts)
			live := get(t, s, webKey(opts.Namespace))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("sync error %v, want %v\n%s", err, tt.wantErr, cs)
				}
				if got := containerImage(t, live.Object); got != "web:1" {
					t.Errorf("image %v after a failed apply, want web:1", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("sync: %v\n%s", err, cs)
			}
			if got := nested(t, live.Object, "spec", "replicas"); got != tt.wantReplicas {
				t.Errorf("replicas %v, want %d", got, tt.wantReplicas)
			}
			if got := containerImage(t, live.Object); got != "web:2" {
				t.Errorf("image %v, want web:2: the rest of the render is applied", got)
			}
		})
	}
}

func TestRespectIgnoreOption(t *testing.T) {
	ignore := []environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}}
	tests := []struct {
		name   string
		policy *environment.SyncPolicy
		ignore []environment.IgnoreDifference
		want   bool
	}{
		{"set", &environment.SyncPolicy{SyncOptions: []string{"CreateNamespace=true", " RespectIgnoreDifferences=true "}}, ignore, true},
		{"false", &environment.SyncPolicy{SyncOptions: []string{"RespectIgnoreDifferences=false"}}, ignore, false},
		{"no sync policy", nil, ignore, false},
		{"nothing to ignore", &environment.SyncPolicy{SyncOptions: []string{"RespectIgnoreDifferences=true"}}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := OptionsFor("o/r", environment.Environment{Name: "e", SyncPolicy: tt.policy, IgnoreDifferences: tt.ignore})
			if got := opts.RespectIgnore != nil; got != tt.want {
				t.Errorf("RespectIgnore set: %v, want %v", got, tt.want)
			}
		})
	}
}

// TestIgnoreDifferencesLiveDiff: a live diff leaves out what the
// environment ignores, on both sides, and still shows the rest.
func TestIgnoreDifferencesLiveDiff(t *testing.T) {
	tests := []struct {
		name   string
		ignore []environment.IgnoreDifference
	}{
		{"jsonPointers", []environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}}},
		{"managedFieldsManagers", []environment.IgnoreDifference{{Group: "apps", Kind: "*", ManagedFieldsManagers: []string{"horizontal-pod-autoscaler"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, opts, inv := syncedApp(t, []string{webDeployment(2, "web:1"), configMap("cfg", map[string]string{"a": "1"})})
			autoscale(t, s, opts.Namespace, 5)
			los, err := s.DryRun(ctxFor(t), parse(t, webDeployment(2, "web:2"), configMap("cfg", map[string]string{"a": "1"})), inv, opts)
			if err != nil {
				t.Fatal(err)
			}
			lo := los[0]
			if lo.Key != webKey(opts.Namespace) || !lo.Tracked {
				t.Fatalf("first live object %v (tracked %v), want the Deployment", lo.Key, lo.Tracked)
			}
			// Before: the diff would show replicas 5 -> 2.
			if l, w := nested(t, lo.Live, "spec", "replicas"), nested(t, lo.WouldBe, "spec", "replicas"); l != int64(5) || w != int64(2) {
				t.Fatalf("replicas live %v, would-be %v; want 5 and 2", l, w)
			}
			if err := IgnoreDifferences(ctxFor(t), los, normalize.New(tt.ignore)); err != nil {
				t.Fatal(err)
			}
			lo = los[0]
			for side, obj := range map[string]map[string]any{"live": lo.Live, "would-be": lo.WouldBe} {
				if v := nested(t, obj, "spec", "replicas"); v != nil {
					t.Errorf("%s replicas %v: not ignored", side, v)
				}
			}
			if l, w := containerImage(t, lo.Live), containerImage(t, lo.WouldBe); l != "web:1" || w != "web:2" {
				t.Errorf("image live %v, would-be %v: the rest must still show", l, w)
			}
			if got, _, _ := unstructured.NestedMap(los[1].Live, "data"); !equalData(got, map[string]any{"a": "1"}) {
				t.Errorf("the ConfigMap, which no rule matches, changed: %v", got)
			}
		})
	}
}
