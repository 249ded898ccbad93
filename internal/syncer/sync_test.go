package syncer

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// paymentService is the seed's payment-service base (Deployment, Service,
// ConfigMap) with the given replicas and image tag.
func paymentService(replicas int, tag string) []string {
	return []string{
		`apiVersion: v1
kind: ConfigMap
metadata:
  name: payment-service-config
  labels: {app: payment-service, team: backend}
data:
  environment: production
  log_level: info`,
		`apiVersion: v1
kind: Service
metadata:
  name: payment-service
  labels: {app: payment-service, team: backend}
spec:
  selector: {app: payment-service}
  ports:
  - {name: http, port: 80, targetPort: http}`,
		fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: payment-service
  labels: {app: payment-service, team: backend}
spec:
  replicas: %d
  selector:
    matchLabels: {app: payment-service}
  template:
    metadata:
      labels: {app: payment-service, team: backend}
    spec:
      containers:
      - name: payment-service
        image: payment-service:%s
        ports:
        - {name: http, containerPort: 8080}
        envFrom:
        - configMapRef: {name: payment-service-config}
        resources:
          requests: {cpu: 100m, memory: 128Mi}
          limits: {memory: 256Mi}`, replicas, tag),
	}
}

func TestSyncPaymentService(t *testing.T) {
	s := newSyncer(t, nil)
	ctx := ctxFor(t)
	opts := testOptions(t)
	opts.Prune = true
	opts.AllowEmpty = false
	ns := opts.Namespace
	dep := manifest.Key{Group: "apps", Kind: "Deployment", Namespace: ns, Name: "payment-service"}
	svc := manifest.Key{Kind: "Service", Namespace: ns, Name: "payment-service"}
	cm := cmKey(ns, "payment-service-config")

	steps := []struct {
		name     string
		replicas int
		tag      string
		want     []string
	}{
		{"first sync creates the namespace and the objects", 3, "v2.4.0", []string{
			"created Namespace/" + ns,
			"created " + cm.String(),
			"created " + svc.String(),
			"created " + dep.String(),
		}},
		{"replicas and image change", 5, "v2.5.0", []string{
			"unchanged " + cm.String(),
			"unchanged " + svc.String(),
			"configured " + dep.String(),
		}},
		{"same render again", 5, "v2.5.0", []string{
			"unchanged " + cm.String(),
			"unchanged " + svc.String(),
			"unchanged " + dep.String(),
		}},
	}
	var inv Inventory
	for _, step := range steps {
		cs, next, err := s.Sync(ctx, parse(t, paymentService(step.replicas, step.tag)...), inv, opts)
		if err != nil {
			t.Fatalf("%s: Sync: %v\n%s", step.name, err, cs)
		}
		if got := actions(cs); !slices.Equal(got, step.want) {
			t.Errorf("%s: changes\n%s\nwant\n%s", step.name, strings.Join(got, "\n"), strings.Join(step.want, "\n"))
		}
		if want := NewInventory(cm, svc, dep); !slices.Equal(next, want) {
			t.Errorf("%s: inventory %v, want %v (the created namespace is not the app's)", step.name, next, want)
		}
		inv = next

		live := get(t, s, dep)
		if got, _, _ := unstructured.NestedInt64(live.Object, "spec", "replicas"); got != int64(step.replicas) {
			t.Errorf("%s: live replicas %d, want %d", step.name, got, step.replicas)
		}
		containers, _, _ := unstructured.NestedSlice(live.Object, "spec", "template", "spec", "containers")
		if img := containers[0].(map[string]any)["image"]; img != "payment-service:"+step.tag {
			t.Errorf("%s: live image %v, want payment-service:%s", step.name, img, step.tag)
		}
	}

	live := get(t, s, dep)
	if id := live.GetAnnotations()[TrackingAnnotation]; id != opts.App+":apps/Deployment:"+ns+"/payment-service" {
		t.Errorf("tracking id %q", id)
	}
	if live.GetLabels()[AppLabel] != opts.App || live.GetLabels()["team"] != "backend" {
		t.Errorf("labels %v, want the app label next to the rendered ones", live.GetLabels())
	}
	var managers []string
	for _, mf := range live.GetManagedFields() {
		managers = append(managers, fmt.Sprintf("%s/%s", mf.Manager, mf.Operation))
	}
	if !slices.Contains(managers, "ferry/Apply") {
		t.Errorf("managed fields %v, want ferry's Apply", managers)
	}
	nsObj := get(t, s, manifest.Key{Kind: "Namespace", Name: ns})
	if nsObj.GetAnnotations()[CreatedForAnnotation] != opts.App || nsObj.GetAnnotations()[TrackingAnnotation] != "" {
		t.Errorf("namespace annotations %v, want created-for and no tracking id", nsObj.GetAnnotations())
	}
	if s := (&ChangeSet{App: "x", Changes: []Change{{Key: dep, Action: Configured}}}).Summary(); s != "1 configured" {
		t.Errorf("summary %q", s)
	}
}

// syncedApp syncs objs for a fresh app and returns the syncer, options and
// inventory.
func syncedApp(t *testing.T, objs []string) (*Syncer, Options, Inventory) {
	t.Helper()
	s := newSyncer(t, nil)
	opts := testOptions(t)
	opts.Prune = true
	cs, inv, err := s.Sync(ctxFor(t), parse(t, objs...), nil, opts)
	if err != nil {
		t.Fatalf("first sync: %v\n%s", err, cs)
	}
	return s, opts, inv
}

func TestPrune(t *testing.T) {
	tests := []struct {
		name string
		// dropped is the second render's version of the ConfigMap that
		// the first render has and the second does not.
		droppedAnnotations []string
		prune              bool
		lostInventory      bool
		wantAction         Action
		wantError          string
		wantGone           bool
	}{
		{name: "prune deletes the dropped object", prune: true, wantAction: Pruned, wantGone: true},
		{name: "prune off keeps it", prune: false, wantAction: PruneSkipped, wantError: "pruning is off"},
		{name: "Prune=false keeps it", prune: true, droppedAnnotations: []string{SyncOptionsAnnotation, "Prune=false"},
			wantAction: PruneSkipped, wantError: "Prune=false"},
		{name: "Prune=false among other options", prune: true, droppedAnnotations: []string{SyncOptionsAnnotation, "ServerSideApply=true, Prune=false"},
			wantAction: PruneSkipped, wantError: "Prune=false"},
		{name: "lost inventory: found by its tracking id", prune: true, lostInventory: true, wantAction: Pruned, wantGone: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, opts, inv := syncedApp(t, []string{
				configMap("settings", nil),
				configMap("extra", nil, tt.droppedAnnotations...),
				"apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}",
			})
			ns := opts.Namespace
			extra := cmKey(ns, "extra")
			if !inv.Has(extra) {
				t.Fatalf("inventory %v lacks %s", inv, extra)
			}
			if tt.lostInventory {
				inv = nil
			}
			opts.Prune = tt.prune
			cs, next, err := s.Sync(ctxFor(t), parse(t,
				configMap("settings", nil),
				"apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}",
			), inv, opts)
			if err != nil {
				t.Fatalf("Sync: %v\n%s", err, cs)
			}
			last := cs.Changes[len(cs.Changes)-1]
			if last.Key != extra || last.Action != tt.wantAction || !strings.Contains(last.Error, tt.wantError) {
				t.Errorf("last change %+v, want %s of %s saying %q\n%s", last, tt.wantAction, extra, tt.wantError, cs)
			}
			if gone := get(t, s, extra) == nil; gone != tt.wantGone {
				t.Errorf("ConfigMap gone = %v, want %v", gone, tt.wantGone)
			}
			if next.Has(extra) == tt.wantGone {
				t.Errorf("next inventory %v: has %s = %v, want %v", next, extra, next.Has(extra), !tt.wantGone)
			}
			if !next.Has(cmKey(ns, "settings")) {
				t.Errorf("next inventory %v lacks the kept ConfigMap", next)
			}
		})
	}
}

// TestPruneOnlyWhatIsTracked: an object that carries the app's label but not
// exactly its tracking id is not the app's, inventory or not.
func TestPruneOnlyWhatIsTracked(t *testing.T) {
	s, opts, inv := syncedApp(t, []string{configMap("a", nil), configMap("b", nil), configMap("c", nil)})
	ns := opts.Namespace
	// Someone copies ferry's label and a tracking id for another name, and
	// takes over "b" by rewriting its tracking id.
	impostor := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{
			"name": "impostor", "namespace": ns,
			"labels":      map[string]any{AppLabel: opts.App},
			"annotations": map[string]any{TrackingAnnotation: TrackingID(opts.App, cmKey(ns, "a"))},
		},
	}}
	cms := s.cluster.Dynamic.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(ns)
	if _, err := cms.Create(ctxFor(t), impostor, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	b := get(t, s, cmKey(ns, "b"))
	b.SetAnnotations(map[string]string{TrackingAnnotation: "other-app:/ConfigMap:" + ns + "/b"})
	if _, err := cms.Update(ctxFor(t), b, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	cs, next, err := s.Sync(ctxFor(t), parse(t, configMap("a", nil), configMap("c", nil)), inv, opts)
	if err != nil {
		t.Fatalf("Sync: %v\n%s", err, cs)
	}
	want := []string{"unchanged " + cmKey(ns, "a").String(), "unchanged " + cmKey(ns, "c").String()}
	if got := actions(cs); !slices.Equal(got, want) {
		t.Errorf("changes %v, want %v", got, want)
	}
	for _, name := range []string{"b", "impostor"} {
		if get(t, s, cmKey(ns, name)) == nil {
			t.Errorf("%s was deleted", name)
		}
	}
	if want := NewInventory(cmKey(ns, "a"), cmKey(ns, "c")); !slices.Equal(next, want) {
		t.Errorf("inventory %v, want %v: the taken-over object is forgotten", next, want)
	}
	if want := cmKey(ns, "b").String() + " no longer carries the app's tracking id"; len(cs.Notes) != 1 || !strings.HasPrefix(cs.Notes[0], want) {
		t.Errorf("notes %q, want one: %s…", cs.Notes, want)
	}
}

func TestEmptySync(t *testing.T) {
	s, opts, inv := syncedApp(t, []string{configMap("a", nil), configMap("b", nil), configMap("c", nil)})
	ns := opts.Namespace

	opts.AllowEmpty = false
	cs, next, err := s.Sync(ctxFor(t), nil, inv, opts)
	if !errors.Is(err, ErrEmptySync) {
		t.Fatalf("empty sync with AllowEmpty=false: err = %v, want ErrEmptySync", err)
	}
	if len(cs.Changes) != 0 || !slices.Equal(next, inv) {
		t.Errorf("refused sync changed something: %s inventory %v", cs, next)
	}
	for _, name := range []string{"a", "b", "c"} {
		if get(t, s, cmKey(ns, name)) == nil {
			t.Errorf("%s deleted by a refused sync", name)
		}
	}

	// Allowed, an empty render is an intent: everything goes, the prune
	// limit notwithstanding.
	opts.AllowEmpty = true
	cs, next, err = s.Sync(ctxFor(t), nil, inv, opts)
	if err != nil {
		t.Fatalf("empty sync with AllowEmpty=true: %v\n%s", err, cs)
	}
	if cs.Count(Pruned) != 3 || len(next) != 0 {
		t.Errorf("allowed empty sync: %s inventory %v, want 3 pruned and an empty inventory", cs, next)
	}
}

func TestPruneLimit(t *testing.T) {
	four := []string{configMap("a", nil), configMap("b", nil), configMap("c", nil), configMap("d", nil)}
	s, opts, inv := syncedApp(t, four)
	ns := opts.Namespace

	cs, next, err := s.Sync(ctxFor(t), parse(t, configMap("a", nil)), inv, opts)
	var limit *PruneLimitError
	if !errors.As(err, &limit) || !errors.Is(err, ErrPruneLimit) {
		t.Fatalf("pruning 3 of 4: err = %v, want a *PruneLimitError", err)
	}
	if limit.Prune != 3 || limit.Tracked != 4 || limit.Max != 0.5 {
		t.Errorf("limit error %+v, want 3 of 4 over 0.5", limit)
	}
	if !strings.Contains(err.Error(), "refusing to prune 3 of 4 objects (75%), more than the 50% limit") {
		t.Errorf("error %q does not say what was refused", err)
	}
	if cs.Count(Unchanged) != 1 || cs.Count(PruneSkipped) != 3 || cs.Count(Pruned) != 0 {
		t.Errorf("changes %s, want 1 unchanged and 3 prune-skipped", cs)
	}
	for _, name := range []string{"a", "b", "c", "d"} {
		if get(t, s, cmKey(ns, name)) == nil {
			t.Errorf("%s deleted by a refused prune", name)
		}
	}
	if !slices.Equal(next, inv) {
		t.Errorf("inventory %v, want all four still tracked: %v", next, inv)
	}

	// One of four is under the limit.
	cs, next, err = s.Sync(ctxFor(t), parse(t, four[:3]...), next, opts)
	if err != nil || cs.Count(Pruned) != 1 {
		t.Fatalf("pruning 1 of 4: err = %v\n%s", err, cs)
	}
	// Turned off, the limit lets anything go.
	opts.MaxPruneFraction = 0
	cs, next, err = s.Sync(ctxFor(t), parse(t, four[0]), next, opts)
	if err != nil || cs.Count(Pruned) != 2 {
		t.Fatalf("pruning 2 of 3 without a limit: err = %v\n%s", err, cs)
	}
	if want := NewInventory(cmKey(ns, "a")); !slices.Equal(next, want) {
		t.Errorf("inventory %v, want %v", next, want)
	}
}

func TestCRDAndCustomResource(t *testing.T) {
	rec := &recorder{}
	s := newSyncer(t, rec)
	opts := testOptions(t)
	ns := opts.Namespace
	// CRDs are cluster-wide: a group of the run's own.
	group := strings.TrimPrefix(ns, "ns-") + ".ferry.test"
	// Discovery happens (and is cached) before the CRD exists, so the
	// custom resource maps only if the mapper rediscovers.
	if _, err := s.cluster.Mapper.RESTMapping(schema.GroupKind{Kind: "ConfigMap"}); err != nil {
		t.Fatal(err)
	}
	objs := parse(t,
		`apiVersion: `+group+`/v1
kind: Widget
metadata: {name: gizmo}
spec: {size: 3}`,
		configMap("widget-settings", nil),
		`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.`+group+`}
spec:
  group: `+group+`
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}`)
	cs, inv, err := s.Sync(ctxFor(t), objs, nil, opts)
	if err != nil {
		t.Fatalf("Sync: %v\n%s", err, cs)
	}
	widget := manifest.Key{Group: group, Kind: "Widget", Namespace: ns, Name: "gizmo"}
	crd := manifest.Key{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition", Name: "widgets." + group}
	want := []string{
		"created Namespace/" + ns,
		"created " + crd.String(),
		"created " + cmKey(ns, "widget-settings").String(),
		"created " + widget.String(),
	}
	if got := actions(cs); !slices.Equal(got, want) {
		t.Errorf("changes %v, want %v", got, want)
	}
	if !inv.Has(widget) || !inv.Has(crd) {
		t.Errorf("inventory %v lacks the CRD or the widget", inv)
	}
	live := get(t, s, widget)
	if size, _, _ := unstructured.NestedInt64(live.Object, "spec", "size"); size != 3 {
		t.Errorf("widget spec.size %d, want 3", size)
	}
	// The CRD was applied, then the widget, with no failed attempt between.
	patches := rec.patches()
	crdAt := slices.IndexFunc(patches, func(p string) bool { return strings.HasSuffix(p, "/customresourcedefinitions/widgets."+group) })
	widgetAt := slices.IndexFunc(patches, func(p string) bool { return strings.HasSuffix(p, "/widgets/gizmo") })
	if crdAt < 0 || widgetAt < crdAt || len(patches) != 3 {
		t.Errorf("PATCH requests %v: want the CRD's before the widget's, one each", patches)
	}
	// Established before the widget was applied: the syncer read the CRD
	// between the two patches.
	var between []string
	rec.mu.Lock()
	seenCRD := false
	for _, r := range rec.reqs {
		switch {
		case strings.HasPrefix(r, "PATCH") && strings.HasSuffix(r, "/widgets."+group):
			seenCRD = true
		case strings.HasPrefix(r, "PATCH") && strings.HasSuffix(r, "/gizmo"):
			seenCRD = false
		case seenCRD:
			between = append(between, r)
		}
	}
	rec.mu.Unlock()
	if !slices.Contains(between, "GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets."+group) {
		t.Errorf("requests between the CRD's and the widget's apply %v: the CRD's state was never read", between)
	}
}

// TestSyncWaveOrder records the PATCH requests: waves in ascending order,
// kinds in rank order within a wave.
func TestSyncWaveOrder(t *testing.T) {
	rec := &recorder{}
	s := newSyncer(t, rec)
	opts := testOptions(t)
	wave := func(n string) []string { return []string{SyncWaveAnnotation, n} }
	objs := parse(t,
		configMap("late", nil, wave("2")...),
		`apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec: {containers: [{name: app, image: app:1}]}`,
		configMap("zeta", nil),
		"apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  annotations: {argocd.argoproj.io/sync-wave: \"1\"}\nstringData: {k: v}",
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: first\n  annotations: {argocd.argoproj.io/sync-wave: \"-1\"}\nspec: {ports: [{port: 80}]}",
		configMap("alpha", nil),
		configMap("not-a-number", nil, wave("soon")...),
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: runner}",
	)
	// The Deployment never becomes healthy here: no controllers.
	opts.WaitForWaves = false
	cs, _, err := s.Sync(ctxFor(t), objs, nil, opts)
	if err != nil {
		t.Fatalf("Sync: %v\n%s", err, cs)
	}
	// Position of each object in the expected order; objects of one kind in
	// one wave share a position (they are applied in parallel).
	order := map[string]int{
		"services/first":         0,
		"serviceaccounts/runner": 1,
		"configmaps/alpha":       2, "configmaps/not-a-number": 2, "configmaps/zeta": 2,
		"deployments/app": 3,
		"secrets/creds":   4,
		"configmaps/late": 5,
	}
	patches := rec.patches()
	if len(patches) != len(order) {
		t.Fatalf("PATCH requests %v, want %d", patches, len(order))
	}
	last := -1
	for _, p := range patches {
		parts := strings.Split(p, "/")
		name := strings.Join(parts[len(parts)-2:], "/")
		pos, ok := order[name]
		if !ok {
			t.Fatalf("unexpected PATCH %s", p)
		}
		if pos < last {
			t.Errorf("PATCH order %v: %s came after a later wave or kind", patches, name)
		}
		last = pos
	}
}

// TestWaitForWaves: a wave that does not become healthy stops the sync
// before the next.
func TestWaitForWaves(t *testing.T) {
	s := newSyncer(t, nil)
	opts := testOptions(t)
	opts.HealthTimeout = 300 * time.Millisecond
	objs := parse(t,
		`apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec: {containers: [{name: app, image: app:1}]}`,
		configMap("after", nil, SyncWaveAnnotation, "1"),
	)
	cs, inv, err := s.Sync(ctxFor(t), objs, nil, opts)
	if !errors.Is(err, ErrHealthTimeout) || !strings.Contains(err.Error(), "wave 0 did not become healthy") {
		t.Fatalf("Sync: err = %v, want wave 0's health timeout", err)
	}
	if got := actions(cs); len(got) != 2 || !strings.HasSuffix(got[1], "/app") {
		t.Errorf("changes %v, want the namespace and the Deployment only", got)
	}
	if get(t, s, cmKey(opts.Namespace, "after")) != nil {
		t.Errorf("wave 1 was applied")
	}
	if len(inv) != 1 {
		t.Errorf("inventory %v, want the Deployment", inv)
	}
}

func TestForeignObjectsAreNotModified(t *testing.T) {
	s := newSyncer(t, nil)
	ctx := ctxFor(t)
	opts := testOptions(t)
	ns := opts.Namespace
	if cs, _, err := s.Sync(ctx, parse(t, configMap("mine", nil)), nil, opts); err != nil {
		t.Fatalf("first sync: %v\n%s", err, cs)
	}
	// Someone else's ConfigMap, created with kubectl-like means.
	cms := s.cluster.Dynamic.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(ns)
	theirs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "shared", "namespace": ns},
		"data":     map[string]any{"owner": "them"},
	}}
	if _, err := cms.Create(ctx, theirs, metav1.CreateOptions{FieldManager: "kubectl"}); err != nil {
		t.Fatal(err)
	}
	// Another app's ConfigMap.
	other := opts
	other.App = opts.App + "-other"
	if cs, _, err := s.Sync(ctx, parse(t, configMap("other-apps", map[string]string{"owner": "other"})), nil, other); err != nil {
		t.Fatalf("other app's sync: %v\n%s", err, cs)
	}

	cs, inv, err := s.Sync(ctx, parse(t,
		configMap("mine", map[string]string{"owner": "ferry"}),
		configMap("shared", map[string]string{"owner": "ferry"}),
		configMap("other-apps", map[string]string{"owner": "ferry"}),
	), nil, opts)
	var applyErr *ApplyError
	if !errors.As(err, &applyErr) || !errors.Is(err, ErrNotOwned) || len(applyErr.Errors) != 2 {
		t.Fatalf("Sync: err = %v, want an *ApplyError with two ErrNotOwned", err)
	}
	byName := map[string]Change{}
	for _, c := range cs.Changes {
		byName[c.Key.Name] = c
	}
	if c := byName["shared"]; c.Action != Failed || !strings.Contains(c.Error, "without a ferry tracking id") {
		t.Errorf("shared: %+v, want failed: no tracking id", c)
	}
	if c := byName["other-apps"]; c.Action != Failed || !strings.Contains(c.Error, other.App+":/ConfigMap:") {
		t.Errorf("other-apps: %+v, want failed naming the other app's tracking id", c)
	}
	if c := byName["mine"]; c.Action != Configured {
		t.Errorf("mine: %+v, want configured (same wave as the failures)", c)
	}
	for name, owner := range map[string]string{"shared": "them", "other-apps": "other"} {
		live := get(t, s, cmKey(ns, name))
		if got, _, _ := unstructured.NestedString(live.Object, "data", "owner"); got != owner {
			t.Errorf("%s: data.owner %q, want %q untouched", name, got, owner)
		}
		for _, mf := range live.GetManagedFields() {
			if mf.Manager == opts.FieldManager && name == "shared" {
				t.Errorf("%s: ferry became a field manager", name)
			}
		}
		if name == "shared" && live.GetAnnotations()[TrackingAnnotation] != "" {
			t.Errorf("%s: got a tracking id", name)
		}
	}
	if want := NewInventory(cmKey(ns, "mine")); !slices.Equal(inv, want) {
		t.Errorf("inventory %v, want %v", inv, want)
	}
}

// TestAPIRejection: an object the API server rejects fails with its
// message; its wave is finished, later waves are not applied, nothing is
// pruned.
func TestAPIRejection(t *testing.T) {
	s, opts, inv := syncedApp(t, []string{configMap("old", nil)})
	ns := opts.Namespace
	objs := parse(t,
		configMap("ok", nil),
		`apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  replicas: -1
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec: {containers: [{name: bad, image: bad:1}]}`,
		configMap("later", nil, SyncWaveAnnotation, "1"),
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: bad-port\n  annotations: {argocd.argoproj.io/sync-wave: \"1\"}\nspec: {ports: [{port: 99999}]}",
	)
	cs, next, err := s.Sync(ctxFor(t), objs, inv, opts)
	var applyErr *ApplyError
	if !errors.As(err, &applyErr) {
		t.Fatalf("Sync: err = %v, want an *ApplyError", err)
	}
	if applyErr.Wave != 0 || len(applyErr.Errors) != 1 || !apierrors.IsInvalid(applyErr.Errors[0].Err) {
		t.Errorf("apply error %+v, want wave 0 with one Invalid error", applyErr)
	}
	bad := manifest.Key{Group: "apps", Kind: "Deployment", Namespace: ns, Name: "bad"}
	want := []string{"created " + cmKey(ns, "ok").String(), "failed " + bad.String()}
	if got := actions(cs); !slices.Equal(got, want) {
		t.Errorf("changes %v, want %v", got, want)
	}
	if msg := cs.Changes[1].Error; !strings.Contains(msg, "spec.replicas") || !strings.Contains(msg, "greater than or equal to 0") {
		t.Errorf("failure message %q, want the API server's", msg)
	}
	if get(t, s, cmKey(ns, "later")) != nil {
		t.Errorf("wave 1 was applied after wave 0 failed")
	}
	if get(t, s, cmKey(ns, "old")) == nil {
		t.Errorf("a failed sync pruned")
	}
	if want := NewInventory(cmKey(ns, "old"), cmKey(ns, "ok")); !slices.Equal(next, want) {
		t.Errorf("inventory %v, want %v", next, want)
	}
	if got := actions(cs); !slices.Contains(got, "failed apps/Deployment/"+ns+"/bad") {
		t.Errorf("changes %v lack the failure", got)
	}
}

func TestSyncRejectsBadInput(t *testing.T) {
	s := newSyncer(t, nil)
	tests := []struct {
		name    string
		objs    []manifest.Object
		opts    func(*Options)
		wantErr string
	}{
		{"no app", nil, func(o *Options) { o.App = "" }, "Options.App is required"},
		{"no name", parse(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: x-}"), nil, "has no name"},
		{"no kind", parse(t, "apiVersion: v1\nmetadata: {name: x}"), nil, "no apiVersion or kind"},
		{"twice", parse(t, configMap("x", nil), configMap("x", nil)), nil, "rendered twice"},
		{"no workers", nil, func(o *Options) { o.Concurrency = 0 }, "Concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(t)
			if tt.opts != nil {
				tt.opts(&opts)
			}
			cs, _, err := s.Sync(ctxFor(t), tt.objs, nil, opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Sync: err = %v, want one saying %q", err, tt.wantErr)
			}
			if len(cs.Changes) != 0 {
				t.Errorf("a refused sync did something: %s", cs)
			}
		})
	}
}

// TestForeignObjectAmongMany: with enough objects in a namespace the
// syncer lists the namespace instead of reading each object; a foreign
// object found that way is refused all the same.
func TestForeignObjectAmongMany(t *testing.T) {
	rec := &recorder{}
	s := newSyncer(t, rec)
	opts := testOptions(t)
	ns := opts.Namespace
	if cs, _, err := s.Sync(ctxFor(t), nil, nil, opts); err != nil {
		t.Fatalf("create the namespace: %v\n%s", err, cs)
	}
	cms := s.cluster.Dynamic.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(ns)
	theirs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "cm-04", "namespace": ns},
		"data":     map[string]any{"owner": "them"},
	}}
	if _, err := cms.Create(ctxFor(t), theirs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var docs []string
	for i := range listThreshold + 2 {
		docs = append(docs, configMap(fmt.Sprintf("cm-%02d", i), map[string]string{"owner": "ferry"}))
	}
	rec.mu.Lock()
	rec.reqs = nil
	rec.mu.Unlock()
	cs, _, err := s.Sync(ctxFor(t), parse(t, docs...), nil, opts)
	if !errors.Is(err, ErrNotOwned) {
		t.Fatalf("Sync: err = %v, want ErrNotOwned", err)
	}
	if cs.Count(Created) != len(docs)-1 || cs.Count(Failed) != 1 {
		t.Errorf("changes %s, want all created but cm-04", cs)
	}
	checkNoReads := func(what string) {
		t.Helper()
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, r := range rec.reqs {
			if strings.HasPrefix(r, "GET") && strings.Contains(r, "/configmaps/") {
				t.Errorf("%s: read a ConfigMap by itself: %s", what, r)
			}
		}
		rec.reqs = nil
	}
	checkNoReads("first sync")
	live := get(t, s, cmKey(ns, "cm-04"))
	if owner, _, _ := unstructured.NestedString(live.Object, "data", "owner"); owner != "them" {
		t.Errorf("cm-04 data.owner %q, want them", owner)
	}

	// All but the foreign one tracked now: no reads either.
	rec.mu.Lock()
	rec.reqs = nil
	rec.mu.Unlock()
	cs, _, err = s.Sync(ctxFor(t), parse(t, append(docs[:4:4], docs[5:]...)...), nil, opts)
	if err != nil || cs.Count(Unchanged) != len(docs)-1 {
		t.Fatalf("resync: %v\n%s", err, cs)
	}
	checkNoReads("resync")
}

// TestFailedListIsNoted: a list that fails only costs its saving: the
// objects are read one by one, and the change set says so.
func TestFailedListIsNoted(t *testing.T) {
	rec := &recorder{}
	s := newSyncer(t, rec)
	opts := testOptions(t)
	ns := opts.Namespace
	// The namespace's list of all its ConfigMaps, not the app's by label.
	rec.fail = func(r *http.Request) bool {
		return r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces/"+ns+"/configmaps" && r.URL.Query().Get("labelSelector") == ""
	}
	var docs []string
	for i := range listThreshold + 2 {
		docs = append(docs, configMap(fmt.Sprintf("cm-%02d", i), nil))
	}
	cs, _, err := s.Sync(ctxFor(t), parse(t, docs...), nil, opts)
	if err != nil || cs.Count(Created) != len(docs)+1 { // and the namespace
		t.Fatalf("Sync: %v\n%s", err, cs)
	}
	want := "could not list ConfigMap objects in namespace " + ns + ", read them one by one: "
	if len(cs.Notes) != 1 || !strings.HasPrefix(cs.Notes[0], want) {
		t.Errorf("notes %q, want one: %s…", cs.Notes, want)
	}
}
