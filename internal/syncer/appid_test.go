package syncer

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// legacyConfigMap creates a ConfigMap as an older ferry left it: tracked by
// the environment's name alone.
func legacyConfigMap(t *testing.T, s *Syncer, ns, name, env string) manifest.Key {
	t.Helper()
	k := cmKey(ns, name)
	cm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": ns,
			"annotations": map[string]any{TrackingAnnotation: TrackingID(env, k)},
			"labels":      map[string]any{AppLabel: AppLabelValue(env)}},
		"data": map[string]any{"k": "old"},
	}}
	cms := s.cluster.Dynamic.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(ns)
	if _, err := cms.Create(ctxFor(t), cm, metav1.CreateOptions{FieldManager: "ferry"}); err != nil {
		t.Fatal(err)
	}
	return k
}

// TestLegacyTrackingIDs: an object an older ferry tracked by the
// environment's name is this app's only when the app's own inventory holds
// it: then it is taken over (or pruned); otherwise it is someone else's.
func TestLegacyTrackingIDs(t *testing.T) {
	tests := []struct {
		name     string
		inPrev   bool
		rendered bool
		want     string // "adopted", "not owned", "pruned"
	}{
		{"in the inventory and rendered", true, true, "adopted"},
		{"not in the inventory", false, true, "not owned"},
		{"in the inventory, no longer rendered", true, false, "pruned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSyncer(t, nil)
			opts := testOptions(t)
			env := strings.TrimPrefix(opts.App, "app-")
			opts.App, opts.LegacyApp, opts.Prune = AppID("acme/web", env), env, true
			if _, _, err := s.Sync(ctxFor(t), parse(t, configMap("keep", nil)), nil, opts); err != nil {
				t.Fatal(err)
			}
			k := legacyConfigMap(t, s, opts.Namespace, "settings", env)
			prev := NewInventory(cmKey(opts.Namespace, "keep"))
			if tt.inPrev {
				prev = NewInventory(cmKey(opts.Namespace, "keep"), k)
			}
			objs := parse(t, configMap("keep", nil))
			if tt.rendered {
				objs = parse(t, configMap("keep", nil), configMap("settings", map[string]string{"k": "new"}))
			}
			_, _, err := s.Sync(ctxFor(t), objs, prev, opts)
			live := get(t, s, k)
			switch tt.want {
			case "adopted":
				if err != nil || live.GetAnnotations()[TrackingAnnotation] != TrackingID(opts.App, k) || live.GetLabels()[AppLabel] != AppLabelValue(opts.App) {
					t.Errorf("err %v, annotations %v: want the object taken over", err, live.GetAnnotations())
				}
			case "not owned":
				if !errors.Is(err, ErrNotOwned) || live.GetAnnotations()[TrackingAnnotation] != TrackingID(env, k) {
					t.Errorf("err %v: want ErrNotOwned and the object untouched", err)
				}
			case "pruned":
				if err != nil || live != nil {
					t.Errorf("err %v, object %v: want it pruned", err, live)
				}
			}
		})
	}
}

// TestSameEnvironmentNameTwoRepositories: two repositories' environments
// of one name are two apps: neither overwrites nor prunes the other's.
func TestSameEnvironmentNameTwoRepositories(t *testing.T) {
	s := newSyncer(t, nil)
	a := testOptions(t)
	env := strings.TrimPrefix(a.App, "app-")
	a.App, a.Prune = AppID("acme/a", env), true
	b := a
	b.App = AppID("acme/b", env)
	if _, _, err := s.Sync(ctxFor(t), parse(t, configMap("settings", map[string]string{"owner": "a"}), configMap("a-only", nil)), nil, a); err != nil {
		t.Fatal(err)
	}
	_, invB, err := s.Sync(ctxFor(t), parse(t, configMap("settings", map[string]string{"owner": "b"}), configMap("b-only", nil)), nil, b)
	if !errors.Is(err, ErrNotOwned) {
		t.Fatalf("b's sync over a's object: err %v, want ErrNotOwned", err)
	}
	// b renders nothing of a's: its prune must leave a's objects alone.
	if _, _, err := s.Sync(ctxFor(t), parse(t, configMap("b-only", nil)), invB, b); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"settings", "a-only"} {
		if cm := get(t, s, cmKey(a.Namespace, name)); cm == nil || cm.GetAnnotations()[TrackingAnnotation] != TrackingID(a.App, cmKey(a.Namespace, name)) {
			t.Errorf("a's %s was taken or pruned by b: %v", name, cm)
		}
	}
	if v, _, _ := unstructured.NestedString(get(t, s, cmKey(a.Namespace, "settings")).Object, "data", "owner"); v != "a" {
		t.Errorf("a's settings now say owner %q", v)
	}
}
