// Package drift detects, within about a second, out-of-band changes to the
// objects ferry applied — a `kubectl scale`, a `kubectl edit`, a deletion —
// and attributes them to the field managers that made them.
//
// A Watcher runs one informer per watched resource, across namespaces,
// listing only objects that carry ferry's app label (syncer.AppLabel); the
// tracking annotation (syncer.TrackingAnnotation), which cannot be selected
// on, then decides client-side which app and identity an object is. Every
// add, update or delete of a tracked object queues a comparison, debounced
// so that a burst of writes costs one; the informers' resync compares
// everything again periodically, for events lost on the way.
//
// The comparison is local: the live object from the informer's cache
// against the desired state ferry last applied, on the fields ferry's apply
// sets, read from managedFields. It costs no API request. The alternative,
// a server-side dry-run apply of the desired state compared with the live
// object, would let the server normalize values but
// costs a write request per change and per resync of every object (a
// thousand objects: a thousand dry-run PATCHes every resync), needs the
// admission chain to be up, and still needs managedFields to say who made
// the change. The local comparison's blind spot, values the server
// normalizes, is closed by not comparing fields only ferry owns: those hold
// what ferry applied, whatever their spelling.
//
// The watcher does not log: drift comes out as Events, and what keeps it
// from seeing drift (a kind it cannot watch, a watch that fails, an object
// it cannot read) as errors, for its caller to log.
package drift

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/syncer"
)

// Desired is the desired state ferry last applied, per app and object (the
// object's effective key: group, kind, namespace filled in, as the syncer
// reports it). An object it does not return is not compared: ferry no
// longer wants it, and deleting it is not drift. It may implement Ignorer.
type Desired interface {
	Desired(app string, key manifest.Key) (manifest.Object, bool)
}

// Kinds of Event.
const (
	Modified = "modified"
	Deleted  = "deleted"
)

// Event is an out-of-band change to a tracked object.
type Event struct {
	App string
	Key manifest.Key
	// Kind is Modified or Deleted.
	Kind string
	// Fields are the paths of the drifted fields, sorted: "spec.replicas",
	// "data.log_level", "spec.template.spec.containers[name=app].image".
	Fields []string
	// Managers are the field managers that own the drifted fields' live
	// values ("kubectl-edit", "kubectl-client-side-apply"), sorted. Empty
	// when nobody does (a deletion, a field removed while ferry wrote last).
	Managers []string
	// Time is when those managers last wrote (managedFields), else when
	// the drift was seen.
	Time time.Time
	// Live and Want hold the drifted fields' values by field path, for a
	// diff: a field removed from the live object is absent from Live. A
	// Secret's data values are Redacted. Both are nil for a deletion.
	Live, Want map[string]any
}

// Options configure a Watcher.
type Options struct {
	// Resync is how often every tracked object is compared again, for
	// changes whose watch events were missed.
	Resync time.Duration
	// Debounce coalesces a burst of changes to one object into one
	// comparison, this long after the first.
	Debounce time.Duration
	// FieldManager is the field manager ferry applies as.
	FieldManager string
}

// DefaultOptions resync every 3 minutes and debounce by 200ms.
func DefaultOptions() Options {
	return Options{Resync: 3 * time.Minute, Debounce: 200 * time.Millisecond, FieldManager: "ferry"}
}

// item is one object to compare.
type item struct {
	gvr schema.GroupVersionResource
	app string
	key manifest.Key
}

// Watcher watches the objects of the tracked apps for drift. Track is safe
// for concurrent use; Run is called once.
type Watcher struct {
	cluster *kube.Cluster
	desired Desired
	opts    Options
	factory dynamicinformer.DynamicSharedInformerFactory
	queue   workqueue.TypedDelayingInterface[item]

	// appsMu guards apps apart from mu: event handlers read it, and Track
	// holds mu across discovery.
	appsMu sync.RWMutex
	apps   map[string]bool

	mu        sync.Mutex
	informers map[schema.GroupVersionResource]cache.SharedIndexInformer
	stop      <-chan struct{} // set by Run
	problems  chan<- error    // set by Run

	// reported is what was last reported per object, so that a resync does
	// not report a drift again. Only Run's loop uses it.
	reported map[item]string
}

// NewWatcher returns a watcher of c's objects. Options left zero take
// DefaultOptions' values.
func NewWatcher(c *kube.Cluster, desired Desired, opts Options) *Watcher {
	def := DefaultOptions()
	if opts.Resync <= 0 {
		opts.Resync = def.Resync
	}
	if opts.Debounce <= 0 {
		opts.Debounce = def.Debounce
	}
	if opts.FieldManager == "" {
		opts.FieldManager = def.FieldManager
	}
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(c.Dynamic, opts.Resync, metav1.NamespaceAll,
		func(lo *metav1.ListOptions) { lo.LabelSelector = syncer.AppLabel })
	return &Watcher{
		cluster:   c,
		desired:   desired,
		opts:      opts,
		factory:   factory,
		queue:     workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[item]{}),
		apps:      map[string]bool{},
		informers: map[schema.GroupVersionResource]cache.SharedIndexInformer{},
		reported:  map[item]string{},
	}
}

// Track watches app's objects of kinds gvks: it starts an informer for each
// kind not watched yet (all apps share it). It is idempotent: call it after
// every sync with the kinds the sync applied. A kind that does not map (a
// CRD not established yet) is skipped, and named in the error it returns:
// the others are watched all the same, and the next Track retries it.
func (w *Watcher) Track(app string, gvks []schema.GroupVersionKind) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.appsMu.Lock()
	newApp := !w.apps[app]
	w.apps[app] = true
	w.appsMu.Unlock()
	var errs []error
	for _, gvk := range gvks {
		cannot := func(err error) {
			errs = append(errs, fmt.Errorf("drift: app %s: cannot watch %s: %w", app, gvk, err))
		}
		var versions []string
		if gvk.Version != "" {
			versions = []string{gvk.Version}
		}
		m, err := w.cluster.Mapper.RESTMapping(gvk.GroupKind(), versions...)
		if err != nil {
			cannot(err)
			continue
		}
		gvr := m.Resource
		if _, ok := w.informers[gvr]; ok {
			continue
		}
		inf := w.factory.ForResource(gvr).Informer()
		if err := inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) { w.watchFailed(gvr, err) }); err != nil {
			cannot(err)
			continue
		}
		_, err = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) { w.enqueue(gvr, obj) },
			UpdateFunc: func(old, obj any) {
				// The old object too: if the tracking id was edited
				// away, the object it named is what drifted.
				w.enqueue(gvr, old)
				w.enqueue(gvr, obj)
			},
			DeleteFunc: func(obj any) {
				if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = t.Obj
				}
				w.enqueue(gvr, obj)
			},
		})
		if err != nil {
			cannot(err)
			continue
		}
		w.informers[gvr] = inf
	}
	if newApp {
		// The informers already running skipped this app's objects.
		for gvr, inf := range w.informers {
			for _, obj := range inf.GetStore().List() {
				w.enqueueFor(gvr, obj, app)
			}
		}
	}
	if w.stop != nil {
		w.factory.Start(w.stop)
	}
	return errors.Join(errs...)
}

// watchFailed reports an informer's failed list or watch, which it retries
// with backoff. The routine ends of a watch (closed, or too old to resume,
// which the informer handles by listing again) are no problem.
func (w *Watcher) watchFailed(gvr schema.GroupVersionResource, err error) {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		apierrors.IsResourceExpired(err), apierrors.IsGone(err):
		return
	}
	w.problem(fmt.Errorf("drift: watch %s, retrying: %w", gvr.String(), err))
}

// problem sends err to Run's problems channel, without blocking: the
// informers that report watch failures must not wait for the caller, and
// what goes on failing is reported again.
func (w *Watcher) problem(err error) {
	w.mu.Lock()
	problems := w.problems
	w.mu.Unlock()
	if problems == nil {
		return
	}
	select {
	case problems <- err:
	default:
	}
}

// enqueue queues a comparison of obj when it is a tracked app's.
func (w *Watcher) enqueue(gvr schema.GroupVersionResource, obj any) {
	w.enqueueFor(gvr, obj, "")
}

// enqueueFor is enqueue; with only set, for that app only, whether it is
// tracked or not (Track, which is adding it).
func (w *Watcher) enqueueFor(gvr schema.GroupVersionResource, obj any, only string) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	app, key, ok := trackingOf(u)
	if !ok {
		return
	}
	if only != "" {
		if app != only {
			return
		}
	} else {
		w.appsMu.RLock()
		tracked := w.apps[app]
		w.appsMu.RUnlock()
		if !tracked {
			return
		}
	}
	w.queue.AddAfter(item{gvr: gvr, app: app, key: key}, w.opts.Debounce)
}

// trackingOf reads the app and key from the tracking annotation, when it
// names obj itself: a copy of an object under another name carries a
// tracking id that is not its own, and is not ferry's.
func trackingOf(u *unstructured.Unstructured) (string, manifest.Key, bool) {
	id := u.GetAnnotations()[syncer.TrackingAnnotation]
	key := manifest.Key{Group: u.GroupVersionKind().Group, Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}
	suffix := syncer.TrackingID("", key) // ":group/kind:ns/name"
	app, ok := strings.CutSuffix(id, suffix)
	if !ok || app == "" {
		return "", manifest.Key{}, false
	}
	return app, key, true
}

// Run starts the informers and sends an Event on events for each drift
// found, until ctx is done; it then returns nil. Existing drift is reported
// as the informers first list the objects.
//
// What keeps the watcher from seeing drift goes to problems, for the caller
// to log: a failing watch (which the informer retries), an object it cannot
// read (which it retries a second later). Run never waits on problems: an
// error sent while the channel is full is dropped, so give it a buffer and
// read it along with events. A nil problems discards them.
func (w *Watcher) Run(ctx context.Context, events chan<- Event, problems chan<- error) error {
	w.mu.Lock()
	if w.stop != nil {
		w.mu.Unlock()
		return errors.New("drift: Watcher.Run called twice")
	}
	w.stop = ctx.Done()
	w.problems = problems
	w.factory.Start(w.stop)
	w.mu.Unlock()
	defer w.factory.Shutdown()

	go func() {
		<-ctx.Done()
		w.queue.ShutDown()
	}()
	for {
		it, shutdown := w.queue.Get()
		if shutdown {
			return nil
		}
		w.process(ctx, it, events)
		w.queue.Done(it)
	}
}

// process compares one object and reports its drift, once.
func (w *Watcher) process(ctx context.Context, it item, events chan<- Event) {
	want, ok := w.desired.Desired(it.app, it.key)
	if !ok {
		delete(w.reported, it) // no longer ferry's to keep: pruned, or never rendered
		return
	}
	live, err := w.live(ctx, it)
	if err != nil {
		if ctx.Err() == nil {
			w.problem(fmt.Errorf("drift: app %s: %w; retrying in a second", it.app, err))
			w.queue.AddAfter(it, time.Second)
		}
		return
	}
	var ev Event
	var sig string
	if live == nil {
		ev = Event{App: it.app, Key: it.key, Kind: Deleted, Time: time.Now()}
		sig = Deleted
	} else {
		nlive, nwant, err := w.ignoring(ctx, it.app, it.key, live, wantObject(it.app, it.key, want))
		if err != nil {
			w.problem(err)
		}
		diffs := compare(nlive, nwant, w.opts.FieldManager)
		if len(diffs) == 0 {
			delete(w.reported, it)
			return
		}
		ev = modified(it.app, it.key, diffs, isSecret(live))
		sig = live.GetResourceVersion() + " " + strings.Join(ev.Fields, ",")
	}
	if w.reported[it] == sig {
		return // reported already; a resync found it again
	}
	w.reported[it] = sig
	select {
	case events <- ev:
	case <-ctx.Done():
	}
}

// modified is the Event for an object whose fields drifted: diffs, from
// compare, are not empty.
func modified(app string, key manifest.Key, diffs []fieldDiff, secret bool) Event {
	ev := Event{App: app, Key: key, Kind: Modified}
	for _, d := range diffs {
		ev.Fields = append(ev.Fields, d.field)
		for _, m := range d.managers {
			if !slices.Contains(ev.Managers, m) {
				ev.Managers = append(ev.Managers, m)
			}
		}
		if d.time.After(ev.Time) {
			ev.Time = d.time
		}
	}
	slices.Sort(ev.Managers)
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	ev.Live, ev.Want = values(diffs, secret)
	return ev
}

// live is the object from the informer's cache; when the cache has none it
// is read from the server, to tell a deletion from an object that lost
// ferry's app label (and so left the informer's selection). nil: deleted.
func (w *Watcher) live(ctx context.Context, it item) (*unstructured.Unstructured, error) {
	w.mu.Lock()
	inf := w.informers[it.gvr]
	w.mu.Unlock()
	storeKey := it.key.Name
	if it.key.Namespace != "" {
		storeKey = it.key.Namespace + "/" + it.key.Name
	}
	obj, exists, err := inf.GetStore().GetByKey(storeKey)
	if err != nil {
		return nil, fmt.Errorf("cache lookup of %s: %w", it.key, err)
	}
	if exists {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			return u, nil
		}
	}
	r := w.cluster.Dynamic.Resource(it.gvr)
	var u *unstructured.Unstructured
	if it.key.Namespace != "" {
		u, err = r.Namespace(it.key.Namespace).Get(ctx, it.key.Name, metav1.GetOptions{})
	} else {
		u, err = r.Get(ctx, it.key.Name, metav1.GetOptions{})
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("get %s: %w", it.key, err)
	}
	return u, nil
}

// wantObject is the desired object as the syncer applies it: in its
// effective namespace, with the tracking annotation and the app label.
func wantObject(app string, key manifest.Key, obj manifest.Object) map[string]any {
	out := maps.Clone(obj.Object)
	md, _ := obj.Object["metadata"].(map[string]any)
	md = maps.Clone(md)
	if md == nil {
		md = map[string]any{}
	}
	if key.Namespace != "" {
		md["namespace"] = key.Namespace
	}
	ann, _ := md["annotations"].(map[string]any)
	ann = maps.Clone(ann)
	if ann == nil {
		ann = map[string]any{}
	}
	ann[syncer.TrackingAnnotation] = syncer.TrackingID(app, key)
	md["annotations"] = ann
	labels, _ := md["labels"].(map[string]any)
	labels = maps.Clone(labels)
	if labels == nil {
		labels = map[string]any{}
	}
	labels[syncer.AppLabel] = syncer.AppLabelValue(app)
	md["labels"] = labels
	out["metadata"] = md
	return out
}
