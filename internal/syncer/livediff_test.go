package syncer

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestDryRunReadsOnlyTracked: a live diff reads, and dry-run applies, only
// the objects the app tracks. Whatever else the render names — an object
// nobody synced, another app's — is never requested from the API server,
// so its live content cannot show.
func TestDryRunReadsOnlyTracked(t *testing.T) {
	s, opts, inv := syncedApp(t, []string{
		configMap("ours", map[string]string{"level": "info"}),
		configMap("unlabelled", map[string]string{"x": "1"}),
	})
	ns := opts.Namespace
	cms := s.cluster.Dynamic.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(ns)
	create := func(name string, labels, annotations map[string]any, data map[string]any) {
		t.Helper()
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "namespace": ns, "labels": labels, "annotations": annotations},
			"data":     data,
		}}
		if _, err := cms.Create(ctxFor(t), obj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	create("foreign", nil, nil, map[string]any{"password": "live-foreign-value"})
	create("theirs", map[string]any{AppLabel: "other-app"}, map[string]any{TrackingAnnotation: TrackingID("other-app", cmKey(ns, "theirs"))},
		map[string]any{"token": "live-theirs-value"})
	// Someone removed the label of one of ours: the inventory still finds it.
	u := get(t, s, cmKey(ns, "unlabelled"))
	u.SetLabels(nil)
	if _, err := cms.Update(ctxFor(t), u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	rec := &recorder{}
	los, err := newSyncer(t, rec).DryRun(ctxFor(t), parse(t,
		configMap("ours", map[string]string{"level": "debug"}),
		configMap("unlabelled", map[string]string{"x": "2"}),
		configMap("foreign", map[string]string{"k": "v"}),
		configMap("theirs", map[string]string{"k": "v"}),
		configMap("new", nil),
	), inv, opts)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name            string
		tracked         bool
		live, wouldBe   map[string]any // data
		requestedByName bool
	}{
		{name: "ours", tracked: true, live: map[string]any{"level": "info"}, wouldBe: map[string]any{"level": "debug"}, requestedByName: true},
		{name: "unlabelled", tracked: true, live: map[string]any{"x": "1"}, wouldBe: map[string]any{"x": "2"}, requestedByName: true},
		{name: "foreign", wouldBe: map[string]any{"k": "v"}},
		{name: "theirs", wouldBe: map[string]any{"k": "v"}},
		{name: "new", wouldBe: map[string]any{"k": "v"}},
	}
	if len(los) != len(tests) {
		t.Fatalf("%d live objects, want %d", len(los), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo := los[i]
			if lo.Key != cmKey(ns, tt.name) || lo.Err != nil {
				t.Fatalf("live object %v, err %v; want %s", lo.Key, lo.Err, cmKey(ns, tt.name))
			}
			if lo.Tracked != tt.tracked {
				t.Errorf("tracked %v, want %v", lo.Tracked, tt.tracked)
			}
			if got, _, _ := unstructured.NestedMap(lo.Live, "data"); !equalData(got, tt.live) {
				t.Errorf("live data %v, want %v", got, tt.live)
			}
			if got, _, _ := unstructured.NestedMap(lo.WouldBe, "data"); !equalData(got, tt.wouldBe) {
				t.Errorf("would-be data %v, want %v", got, tt.wouldBe)
			}
			if id, _, _ := unstructured.NestedString(lo.WouldBe, "metadata", "annotations", TrackingAnnotation); id != TrackingID(opts.App, lo.Key) {
				t.Errorf("would-be tracking id %q, want the app's", id)
			}
			var requests []string
			for _, r := range rec.reqs {
				if strings.HasSuffix(r, "/configmaps/"+tt.name) {
					requests = append(requests, r)
				}
			}
			if tt.requestedByName != (len(requests) > 0) {
				t.Errorf("requests for it: %v; want some: %v", requests, tt.requestedByName)
			}
		})
	}

	opts.App = ""
	if _, err := s.DryRun(ctxFor(t), nil, inv, opts); err == nil {
		t.Error("DryRun without an app: no error")
	}
}

func equalData(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
