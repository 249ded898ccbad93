package drift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/syncer"
)

const app = "payment-service"

// eventTimeout bounds every wait for an event: generous, for a loaded
// machine; the detection latency itself is BenchmarkDetect's.
const eventTimeout = 20 * time.Second

var (
	deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	configMaps  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	secrets     = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
)

// desiredState is the lead's record of what ferry applied.
type desiredState struct {
	mu   sync.Mutex
	objs map[string]manifest.Object
}

func (d *desiredState) Desired(app string, key manifest.Key) (manifest.Object, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	o, ok := d.objs[app+" "+key.String()]
	return o, ok
}

func (d *desiredState) set(app string, key manifest.Key, o manifest.Object) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.objs == nil {
		d.objs = map[string]manifest.Object{}
	}
	d.objs[app+" "+key.String()] = o
}

// paymentService is the app's render: a Deployment, its ConfigMap and a
// Secret given as stringData.
func paymentService() string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: payment-service
  labels: {app: payment-service, team: backend}
spec:
  replicas: 2
  selector:
    matchLabels: {app: payment-service}
  template:
    metadata:
      labels: {app: payment-service}
    spec:
      containers:
      - name: payment-service
        image: payment-service:1.4.2
        ports:
        - {name: http, containerPort: 8080}
        resources:
          requests: {cpu: "0.1", memory: 128Mi}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: payment-service-config
  labels: {app: payment-service, team: backend}
data:
  environment: production
  log_level: info
---
apiVersion: v1
kind: Secret
metadata:
  name: payment-service-db
stringData:
  password: correct-horse
`
}

// testEnv is one namespace holding the synced app, watched.
type testEnv struct {
	dyn     dynamic.Interface
	ns      string
	events  chan Event
	sync    func(t *testing.T, objs []manifest.Object) // syncs objs into ns as ferry
	desired *desiredState
}

func (e *testEnv) key(kind string) manifest.Key {
	switch kind {
	case "Deployment":
		return manifest.Key{Group: "apps", Kind: kind, Namespace: e.ns, Name: "payment-service"}
	case "ConfigMap":
		return manifest.Key{Kind: kind, Namespace: e.ns, Name: "payment-service-config"}
	case "Secret":
		return manifest.Key{Kind: kind, Namespace: e.ns, Name: "payment-service-db"}
	}
	panic(kind)
}

func newCluster(t testing.TB) *kube.Cluster {
	t.Helper()
	c, err := kube.NewCluster(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// syncApp applies objs as app into a new namespace with a real syncer and
// records them as desired.
func syncApp(t testing.TB, c *kube.Cluster, desired *desiredState, app, prefix string, objs []manifest.Object) string {
	t.Helper()
	ns := fmt.Sprintf("%s-%06x", prefix, rand.IntN(1<<24))
	syncInto(t, c, desired, app, ns, objs)
	return ns
}

// syncInto syncs objs into namespace ns as ferry does for app, and records
// them as desired (before the sync, as the lead would).
func syncInto(t testing.TB, c *kube.Cluster, desired *desiredState, app, ns string, objs []manifest.Object) {
	t.Helper()
	opts := syncer.DefaultOptions()
	opts.App = app
	opts.Namespace = ns
	for _, o := range objs {
		k := o.Key
		if k.Namespace == "" {
			k.Namespace = ns
		}
		desired.set(app, k, o)
	}
	opts.CreateNamespace = true
	opts.PollInterval = 50 * time.Millisecond
	opts.HealthTimeout = 30 * time.Second
	opts.Concurrency = 16
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cs, _, err := syncer.New(c).Sync(ctx, objs, nil, opts)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	for _, ch := range cs.Changes {
		if ch.Action == syncer.Failed {
			t.Fatalf("sync: %s failed: %s", ch.Key, ch.Error)
		}
	}
}

// setup syncs the payment service into a namespace of its own and watches it.
func setup(t *testing.T) *testEnv {
	t.Helper()
	c := newCluster(t)
	objs, err := manifest.Parse([]byte(paymentService()), "payment-service.yaml")
	if err != nil {
		t.Fatal(err)
	}
	desired := &desiredState{}
	ns := syncApp(t, c, desired, app, "drift", objs)

	w := NewWatcher(c, desired, DefaultOptions())
	events := runWatcher(t, w, t.Logf, []schema.GroupVersionKind{
		{Group: "apps", Version: "v1", Kind: "Deployment"},
		{Version: "v1", Kind: "ConfigMap"},
		{Version: "v1", Kind: "Secret"},
	})
	return &testEnv{dyn: c.Dynamic, ns: ns, events: events, desired: desired,
		sync: func(t *testing.T, objs []manifest.Object) { syncInto(t, c, desired, app, ns, objs) }}
}

// next returns the next event about e's namespace: others' are left over
// from other tests (the watcher sees every namespace).
func (e *testEnv) next(t *testing.T) Event {
	t.Helper()
	deadline := time.After(eventTimeout)
	for {
		select {
		case ev := <-e.events:
			if ev.Key.Namespace == e.ns {
				return ev
			}
		case <-deadline:
			t.Fatalf("no drift event within %v", eventTimeout)
		}
	}
}

func (e *testEnv) get(t *testing.T, gvr schema.GroupVersionResource, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := e.dyn.Resource(gvr).Namespace(e.ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get %s: %v", name, err)
	}
	return u
}

// scale sets the Deployment's replicas as kubectl scale would, with a
// forced server-side apply as manager.
func (e *testEnv) scale(t *testing.T, manager string, replicas int) {
	t.Helper()
	patch := fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"payment-service","namespace":%q},"spec":{"replicas":%d}}`, e.ns, replicas)
	force := true
	_, err := e.dyn.Resource(deployments).Namespace(e.ns).Patch(context.Background(), "payment-service", types.ApplyPatchType,
		[]byte(patch), metav1.PatchOptions{FieldManager: manager, Force: &force})
	if err != nil {
		t.Fatalf("scale: %v", err)
	}
}

// edit reads an object, changes it, and writes it back with an Update as
// manager, as kubectl edit does.
func (e *testEnv) edit(t *testing.T, gvr schema.GroupVersionResource, name, manager string, change func(u *unstructured.Unstructured)) {
	t.Helper()
	u := e.get(t, gvr, name)
	change(u)
	if _, err := e.dyn.Resource(gvr).Namespace(e.ns).Update(context.Background(), u, metav1.UpdateOptions{FieldManager: manager}); err != nil {
		t.Fatalf("edit %s: %v", name, err)
	}
}

func setData(key, value string) func(u *unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		if err := unstructured.SetNestedField(u.Object, value, "data", key); err != nil {
			panic(err)
		}
	}
}

// asJSON compares values whatever their Go number types.
func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestWatcher(t *testing.T) {
	tests := []struct {
		name string
		// change is the out-of-band change.
		change func(t *testing.T, e *testEnv)
		// sentinel, for a change that is no drift, is a later change that
		// is: its event must be the first to arrive.
		sentinel func(t *testing.T, e *testEnv)

		wantObj      string // kind of the object the event is about
		wantKind     string
		wantFields   []string
		wantManagers []string
		wantLive     map[string]any
		wantWant     map[string]any
	}{
		{
			name:         "kubectl scale takes over replicas",
			change:       func(t *testing.T, e *testEnv) { e.scale(t, "kubectl-scale", 5) },
			wantObj:      "Deployment",
			wantKind:     Modified,
			wantFields:   []string{"spec.replicas"},
			wantManagers: []string{"kubectl-scale"},
			wantLive:     map[string]any{"spec.replicas": 5},
			wantWant:     map[string]any{"spec.replicas": 2},
		},
		{
			name: "kubectl edit changes a ConfigMap key",
			change: func(t *testing.T, e *testEnv) {
				e.edit(t, configMaps, "payment-service-config", "kubectl-edit", setData("log_level", "debug"))
			},
			wantObj:      "ConfigMap",
			wantKind:     Modified,
			wantFields:   []string{"data.log_level"},
			wantManagers: []string{"kubectl-edit"},
			wantLive:     map[string]any{"data.log_level": "debug"},
			wantWant:     map[string]any{"data.log_level": "info"},
		},
		{
			name: "client-side apply changes the image",
			change: func(t *testing.T, e *testEnv) {
				e.edit(t, deployments, "payment-service", "kubectl-client-side-apply", func(u *unstructured.Unstructured) {
					cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
					cs[0].(map[string]any)["image"] = "payment-service:hotfix"
					_ = unstructured.SetNestedSlice(u.Object, cs, "spec", "template", "spec", "containers")
				})
			},
			wantObj:      "Deployment",
			wantKind:     Modified,
			wantFields:   []string{"spec.template.spec.containers[name=payment-service].image"},
			wantManagers: []string{"kubectl-client-side-apply"},
			wantLive:     map[string]any{"spec.template.spec.containers[name=payment-service].image": "payment-service:hotfix"},
			wantWant:     map[string]any{"spec.template.spec.containers[name=payment-service].image": "payment-service:1.4.2"},
		},
		{
			name: "kubectl edit changes a Secret: values redacted",
			change: func(t *testing.T, e *testEnv) {
				e.edit(t, secrets, "payment-service-db", "kubectl-edit", setData("password", "c3dvcmRmaXNo"))
			},
			wantObj:      "Secret",
			wantKind:     Modified,
			wantFields:   []string{"data.password"},
			wantManagers: []string{"kubectl-edit"},
			wantLive:     map[string]any{"data.password": Redacted},
			wantWant:     map[string]any{"data.password": Redacted},
		},
		{
			name: "status update is not drift",
			change: func(t *testing.T, e *testEnv) {
				u := e.get(t, deployments, "payment-service")
				_ = unstructured.SetNestedField(u.Object, int64(2), "status", "replicas")
				_ = unstructured.SetNestedField(u.Object, int64(1), "status", "readyReplicas")
				_ = unstructured.SetNestedField(u.Object, int64(1), "status", "observedGeneration")
				if _, err := e.dyn.Resource(deployments).Namespace(e.ns).UpdateStatus(context.Background(), u,
					metav1.UpdateOptions{FieldManager: "kube-controller-manager"}); err != nil {
					t.Fatalf("update status: %v", err)
				}
			},
			sentinel:     func(t *testing.T, e *testEnv) { e.scale(t, "sentinel", 7) },
			wantObj:      "Deployment",
			wantKind:     Modified,
			wantFields:   []string{"spec.replicas"},
			wantManagers: []string{"sentinel"},
			wantLive:     map[string]any{"spec.replicas": 7},
			wantWant:     map[string]any{"spec.replicas": 2},
		},
		{
			name: "an annotation ferry does not set is not drift",
			change: func(t *testing.T, e *testEnv) {
				_, err := e.dyn.Resource(configMaps).Namespace(e.ns).Patch(context.Background(), "payment-service-config",
					types.MergePatchType, []byte(`{"metadata":{"annotations":{"policy.example.com/checked":"true"},"labels":{"cost-center":"42"}}}`),
					metav1.PatchOptions{FieldManager: "policy-controller"})
				if err != nil {
					t.Fatalf("annotate: %v", err)
				}
			},
			sentinel: func(t *testing.T, e *testEnv) {
				e.edit(t, configMaps, "payment-service-config", "sentinel", setData("environment", "staging"))
			},
			wantObj:      "ConfigMap",
			wantKind:     Modified,
			wantFields:   []string{"data.environment"},
			wantManagers: []string{"sentinel"},
			wantLive:     map[string]any{"data.environment": "staging"},
			wantWant:     map[string]any{"data.environment": "production"},
		},
		{
			name: "ferry applying a new desired state is not drift",
			change: func(t *testing.T, e *testEnv) {
				objs, err := manifest.Parse([]byte(strings.Replace(paymentService(), "replicas: 2", "replicas: 4", 1)), "payment-service.yaml")
				if err != nil {
					t.Fatal(err)
				}
				e.sync(t, objs)
			},
			sentinel:     func(t *testing.T, e *testEnv) { e.scale(t, "sentinel", 7) },
			wantObj:      "Deployment",
			wantKind:     Modified,
			wantFields:   []string{"spec.replicas"},
			wantManagers: []string{"sentinel"},
			wantLive:     map[string]any{"spec.replicas": 7},
			wantWant:     map[string]any{"spec.replicas": 4},
		},
		{
			name: "deleting the ConfigMap",
			change: func(t *testing.T, e *testEnv) {
				if err := e.dyn.Resource(configMaps).Namespace(e.ns).Delete(context.Background(), "payment-service-config", metav1.DeleteOptions{}); err != nil {
					t.Fatalf("delete: %v", err)
				}
			},
			wantObj:  "ConfigMap",
			wantKind: Deleted,
		},
		{
			name: "untracked objects changing are not drift",
			change: func(t *testing.T, e *testEnv) {
				ctx := context.Background()
				// No ferry marks at all; then ferry's marks, but for an
				// app nobody tracks.
				for i, ann := range []map[string]any{nil, {syncer.TrackingAnnotation: fmt.Sprintf("other-app::ConfigMap:%s/stray-1", e.ns)}} {
					u := &unstructured.Unstructured{Object: map[string]any{
						"apiVersion": "v1", "kind": "ConfigMap",
						"metadata": map[string]any{"name": fmt.Sprintf("stray-%d", i), "namespace": e.ns,
							"labels": map[string]any{syncer.AppLabel: "other-app"}},
						"data": map[string]any{"k": "v"},
					}}
					if ann != nil {
						u.Object["metadata"].(map[string]any)["annotations"] = ann
					}
					if _, err := e.dyn.Resource(configMaps).Namespace(e.ns).Create(ctx, u, metav1.CreateOptions{FieldManager: "someone"}); err != nil {
						t.Fatalf("create: %v", err)
					}
					e.edit(t, configMaps, u.GetName(), "kubectl-edit", setData("k", "changed"))
				}
			},
			sentinel: func(t *testing.T, e *testEnv) {
				e.edit(t, configMaps, "payment-service-config", "sentinel", setData("log_level", "trace"))
			},
			wantObj:      "ConfigMap",
			wantKind:     Modified,
			wantFields:   []string{"data.log_level"},
			wantManagers: []string{"sentinel"},
			wantLive:     map[string]any{"data.log_level": "trace"},
			wantWant:     map[string]any{"data.log_level": "info"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			tt.change(t, e)
			if tt.sentinel != nil {
				tt.sentinel(t, e)
			}
			ev := e.next(t)
			if ev.App != app || ev.Key != e.key(tt.wantObj) || ev.Kind != tt.wantKind {
				t.Fatalf("event = %s %s %s %v, want %s %s %s", ev.App, ev.Kind, ev.Key, ev.Fields, app, tt.wantKind, e.key(tt.wantObj))
			}
			if !slices.Equal(ev.Fields, tt.wantFields) || !slices.Equal(ev.Managers, tt.wantManagers) {
				t.Errorf("fields, managers = %q, %q; want %q, %q", ev.Fields, ev.Managers, tt.wantFields, tt.wantManagers)
			}
			if asJSON(ev.Live) != asJSON(tt.wantLive) || asJSON(ev.Want) != asJSON(tt.wantWant) {
				t.Errorf("live, want = %s, %s; want %s, %s", asJSON(ev.Live), asJSON(ev.Want), asJSON(tt.wantLive), asJSON(tt.wantWant))
			}
			if ev.Time.IsZero() {
				t.Error("event has no time")
			}
		})
	}
}

// TestTrackReportsKindsItCannotWatch: a kind that does not map is named in
// Track's error, and the others are watched all the same.
func TestTrackReportsKindsItCannotWatch(t *testing.T) {
	w := NewWatcher(newCluster(t), &desiredState{}, DefaultOptions())
	err := w.Track(app, []schema.GroupVersionKind{
		{Group: "widgets.example.com", Version: "v1", Kind: "Widget"},
		{Version: "v1", Kind: "ConfigMap"},
	})
	want := "drift: app " + app + ": cannot watch widgets.example.com/v1, Kind=Widget: "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Track = %v, want %s…", err, want)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.informers[schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}]; !ok || len(w.informers) != 1 {
		t.Errorf("informers %v, want ConfigMaps' alone", slices.Collect(maps.Keys(w.informers)))
	}
}

// TestWatchFailures: a failing watch is a problem for the caller to log;
// the routine ends of a watch are not.
func TestWatchFailures(t *testing.T) {
	gvr := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	gone := apierrors.NewResourceExpired("too old resource version: 1 (42)")
	for _, tc := range []struct {
		name string
		err  error
		want string // "" for no problem
	}{
		{"closed", io.EOF, ""},
		{"cut short", io.ErrUnexpectedEOF, ""},
		{"too old to resume", gone, ""},
		{"forbidden", apierrors.NewForbidden(gvr.GroupResource(), "", errors.New("RBAC")),
			"drift: watch apps/v1, Resource=deployments, retrying: deployments.apps is forbidden: RBAC"},
		{"connection refused", errors.New("dial tcp 10.0.0.1:443: connect: connection refused"),
			"drift: watch apps/v1, Resource=deployments, retrying: dial tcp 10.0.0.1:443: connect: connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems := make(chan error, 1)
			w := &Watcher{problems: problems}
			w.watchFailed(gvr, tc.err)
			var got string
			select {
			case err := <-problems:
				got = err.Error()
			default:
			}
			if got != tc.want {
				t.Errorf("problem %q, want %q", got, tc.want)
			}
		})
	}
	// Nobody listening: nothing blocks.
	(&Watcher{}).watchFailed(gvr, errors.New("boom"))
	full := make(chan error)
	(&Watcher{problems: full}).watchFailed(gvr, errors.New("boom"))
}

// waitForSync waits until every informer started so far has listed its
// objects, or ctx is done; it reports whether they did.
func (w *Watcher) waitForSync(ctx context.Context) bool {
	w.mu.Lock()
	synced := make([]cache.InformerSynced, 0, len(w.informers))
	for _, inf := range w.informers {
		synced = append(synced, inf.HasSynced)
	}
	w.mu.Unlock()
	return cache.WaitForCacheSync(ctx.Done(), synced...)
}

// runWatcher tracks kinds with w, runs it until the test ends (problems go
// to report) and waits for its informers; it returns the events channel.
func runWatcher(t *testing.T, w *Watcher, report func(string, ...any), kinds []schema.GroupVersionKind) chan Event {
	t.Helper()
	if err := w.Track(app, kinds); err != nil {
		t.Fatalf("Track: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan Event, 100)
	problems := make(chan error, 100)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, events, problems) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		for len(problems) > 0 {
			report("watcher problem: %v", <-problems)
		}
	})
	syncCtx, cancelSync := context.WithTimeout(ctx, eventTimeout)
	defer cancelSync()
	if !w.waitForSync(syncCtx) {
		t.Fatal("informers did not sync")
	}
	return events
}
