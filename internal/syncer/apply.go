package syncer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// crdPollInterval is how often a new CRD is checked for being established
// and served. Far below the health poll: it takes the API server well under
// a second, and every custom resource of the sync waits on it.
const crdPollInterval = 100 * time.Millisecond

const (
	crdGroup = "apiextensions.k8s.io"
	crdKind  = "CustomResourceDefinition"
)

// listThreshold is how many objects of one kind in one namespace make the
// syncer list the namespace's objects of that kind instead of reading them
// one by one. Below it the reads are cheaper than listing a namespace that
// may hold many objects of others.
const listThreshold = 8

// target is a rendered object resolved against the cluster: its mapping
// and effective key, or why it has none.
type target struct {
	obj     manifest.Object
	key     manifest.Key
	mapping *meta.RESTMapping
	err     error
}

func (s *Syncer) resolve(obj manifest.Object, destNS string) target {
	t := target{obj: obj, key: obj.Key}
	gv, err := schema.ParseGroupVersion(obj.APIVersion())
	if err != nil {
		t.err = fmt.Errorf("apiVersion %q: %w", obj.APIVersion(), err)
		return t
	}
	t.mapping, t.err = s.cluster.Mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: obj.Key.Kind}, gv.Version)
	if t.err != nil {
		t.err = fmt.Errorf("map kind: %w", t.err)
		return t
	}
	t.key = effectiveKey(obj.Key, t.mapping, destNS)
	return t
}

// liveIndex is what is known of a group's live objects before applying
// them: present (with metadata) or known absent. Objects it does not know
// are read one by one.
type liveIndex struct {
	present map[manifest.Key]*metav1.PartialObjectMetadata
	absent  map[manifest.Key]bool
}

func (l liveIndex) get(k manifest.Key) (m *metav1.PartialObjectMetadata, known bool) {
	if m, ok := l.present[k]; ok {
		return m, true
	}
	return nil, l.absent[k]
}

// index learns the live state of a group's objects with a few lists instead
// of a read per object: the app's objects of the kind (by label, all
// namespaces), then, for namespaces holding many of the rest (a first sync),
// everything of the kind there. In the steady state of GitOps, where the
// objects exist and are the app's, a sync then costs one request per object:
// its apply. Lists that fail only cost the saving: objects are then read,
// and the failure is noted in cs.
func (s *Syncer) index(ctx context.Context, targets []target, opts Options, cs *ChangeSet) liveIndex {
	idx := liveIndex{present: map[manifest.Key]*metav1.PartialObjectMetadata{}, absent: map[manifest.Key]bool{}}
	var mapping *meta.RESTMapping
	for _, t := range targets {
		if t.mapping != nil {
			mapping = t.mapping
			break
		}
	}
	if mapping == nil {
		return idx
	}
	gk := mapping.GroupVersionKind.GroupKind()
	tracked, err := s.listTracked(ctx, gk, opts.App)
	if err != nil {
		cs.note("could not list the app's %s objects, read them one by one: %v", gk, err)
	}
	maps.Copy(idx.present, tracked)

	untracked := map[string][]manifest.Key{}
	for _, t := range targets {
		if _, ok := idx.present[t.key]; t.mapping != nil && !ok {
			untracked[t.key.Namespace] = append(untracked[t.key.Namespace], t.key)
		}
	}
	for ns, keys := range untracked {
		if len(keys) < listThreshold {
			continue
		}
		r := s.cluster.Metadata.Resource(mapping.Resource)
		var list *metav1.PartialObjectMetadataList
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			list, err = r.Namespace(ns).List(ctx, metav1.ListOptions{})
		} else {
			list, err = r.List(ctx, metav1.ListOptions{})
		}
		if err != nil {
			cs.note("could not list %s objects in namespace %s, read them one by one: %v", gk, ns, err)
			continue
		}
		byName := make(map[string]*metav1.PartialObjectMetadata, len(list.Items))
		for i := range list.Items {
			byName[list.Items[i].Name] = &list.Items[i]
		}
		for _, k := range keys {
			if m, ok := byName[k.Name]; ok {
				idx.present[k] = m
			} else {
				idx.absent[k] = true
			}
		}
	}
	return idx
}

// applyGroup applies objects of one kind in parallel. changes[i] and errs[i]
// are objs[i]'s; the change's key is the effective one (namespace filled in).
// Notes go to cs; the changes are the caller's to add.
func (s *Syncer) applyGroup(ctx context.Context, objs []manifest.Object, opts Options, cs *ChangeSet) ([]Change, []*ObjectError) {
	changes := make([]Change, len(objs))
	errs := make([]*ObjectError, len(objs))
	targets := make([]target, len(objs))
	for i, o := range objs {
		targets[i] = s.resolve(o, opts.Namespace)
	}
	idx := s.index(ctx, targets, opts, cs)
	forEach(len(objs), opts.Concurrency, func(i int) {
		key := targets[i].key
		action, err := s.apply(ctx, targets[i], idx, opts)
		changes[i] = Change{Key: key, Action: action}
		if err != nil {
			changes[i] = Change{Key: key, Action: Failed, Error: err.Error()}
			errs[i] = &ObjectError{Key: key, Err: err}
		}
	})
	// A CRD is only useful once established and served: the custom
	// resources after it would not map before.
	if objs[0].Key.Group == crdGroup && objs[0].Key.Kind == crdKind {
		forEach(len(objs), opts.Concurrency, func(i int) {
			if errs[i] != nil {
				return
			}
			if err := s.waitEstablished(ctx, objs[i].Key.Name, opts.HealthTimeout); err != nil {
				changes[i].Action, changes[i].Error = Failed, err.Error()
				errs[i] = &ObjectError{Key: changes[i].Key, Err: err}
			}
		})
	}
	return changes, errs
}

// apply server-side applies one object, unless it exists and is not this
// app's. It returns created, configured or unchanged, which it tells by the
// resourceVersion: the API server does not write (nor bump it for) an apply
// that changes nothing.
func (s *Syncer) apply(ctx context.Context, t target, idx liveIndex, opts Options) (Action, error) {
	if t.err != nil {
		return Failed, t.err
	}
	live, known := idx.get(t.key)
	if !known {
		r := s.cluster.Metadata.Resource(t.mapping.Resource)
		var err error
		if t.key.Namespace != "" {
			live, err = r.Namespace(t.key.Namespace).Get(ctx, t.key.Name, metav1.GetOptions{})
		} else {
			live, err = r.Get(ctx, t.key.Name, metav1.GetOptions{})
		}
		switch {
		case apierrors.IsNotFound(err):
			live = nil
		case err != nil:
			return Failed, fmt.Errorf("read live object: %w", err)
		}
	}
	var liveRV string
	if live != nil {
		if !ownedBy(live.Annotations, opts, t.key) && !adoptable(live.Annotations, opts.App, t.key) {
			return Failed, notOwned(live.Annotations, opts.App)
		}
		liveRV = live.ResourceVersion
	}

	ri := s.resourceClient(t.mapping, t.key.Namespace)
	obj, err := s.applied(ctx, t, live != nil, opts)
	if err != nil {
		return Failed, err
	}
	out, err := ri.Apply(ctx, t.key.Name, obj, metav1.ApplyOptions{FieldManager: opts.FieldManager, Force: true})
	if err != nil {
		return Failed, err
	}
	switch {
	case liveRV == "":
		return Created, nil
	case liveRV != out.GetResourceVersion():
		return Configured, nil
	}
	return Unchanged, nil
}

// effectiveKey is where the object lands: namespaced objects without a
// namespace go to the destination's, cluster-scoped objects have none
// (kubectl ignores one given, and so does ferry).
func effectiveKey(k manifest.Key, mapping *meta.RESTMapping, destNS string) manifest.Key {
	k.Group = mapping.GroupVersionKind.Group
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		k.Namespace = ""
		return k
	}
	if k.Namespace == "" {
		k.Namespace = destNS
	}
	if k.Namespace == "" {
		k.Namespace = metav1.NamespaceDefault
	}
	return k
}

func (s *Syncer) resourceClient(mapping *meta.RESTMapping, ns string) dynamic.ResourceInterface {
	r := s.cluster.Dynamic.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return r.Namespace(ns)
	}
	return r
}

// desired is obj as ferry applies it: in its effective namespace, with the
// tracking annotation and app label. Only metadata is copied: the rest is
// shared with the caller's object and never written to.
func desired(obj manifest.Object, k manifest.Key, app string) *unstructured.Unstructured {
	out := maps.Clone(obj.Object)
	md, _ := obj.Object["metadata"].(map[string]any)
	md = maps.Clone(md)
	if md == nil {
		md = map[string]any{}
	}
	if k.Namespace == "" {
		delete(md, "namespace")
	} else {
		md["namespace"] = k.Namespace
	}
	ann, _ := md["annotations"].(map[string]any)
	ann = maps.Clone(ann)
	if ann == nil {
		ann = map[string]any{}
	}
	ann[TrackingAnnotation] = TrackingID(app, k)
	md["annotations"] = ann
	labels, _ := md["labels"].(map[string]any)
	labels = maps.Clone(labels)
	if labels == nil {
		labels = map[string]any{}
	}
	labels[AppLabel] = AppLabelValue(app)
	md["labels"] = labels
	out["metadata"] = md
	return &unstructured.Unstructured{Object: out}
}

// adoptable: a namespace CreateNamespace made for this app, which the app
// now renders itself, or an earlier sync's hook of this app that is now an
// ordinary resource.
func adoptable(annotations map[string]string, app string, k manifest.Key) bool {
	if annotations[HookOfAnnotation] == TrackingID(app, k) {
		return true
	}
	return k.Group == "" && k.Kind == "Namespace" && annotations[CreatedForAnnotation] == app
}

func notOwned(annotations map[string]string, app string) error {
	id := annotations[TrackingAnnotation]
	if id == "" {
		return fmt.Errorf("%w: it exists without a ferry tracking id (created by someone else); ferry does not modify it, "+
			"delete it or rename yours", ErrNotOwned)
	}
	return fmt.Errorf("%w %s: its tracking id is %q", ErrNotOwned, app, id)
}

// ensureNamespace creates the destination namespace when it is missing. It
// returns a change only when it created one: an existing namespace is not
// the app's to report on.
func (s *Syncer) ensureNamespace(ctx context.Context, opts Options) (*Change, *ObjectError) {
	key := manifest.Key{Kind: "Namespace", Name: opts.Namespace}
	fail := func(err error) (*Change, *ObjectError) {
		return &Change{Key: key, Action: Failed, Error: err.Error()}, &ObjectError{Key: key, Err: err}
	}
	nsClient := s.cluster.Dynamic.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"})
	_, err := nsClient.Get(ctx, opts.Namespace, metav1.GetOptions{})
	if err == nil {
		return nil, nil
	}
	if !apierrors.IsNotFound(err) {
		return fail(fmt.Errorf("read namespace: %w", err))
	}
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(opts.Namespace)
	ns.SetAnnotations(map[string]string{CreatedForAnnotation: opts.App})
	// Create, not apply: if someone else creates it meanwhile, it is theirs.
	_, err = nsClient.Create(ctx, ns, metav1.CreateOptions{FieldManager: opts.FieldManager})
	switch {
	case apierrors.IsAlreadyExists(err):
		return nil, nil
	case err != nil:
		return fail(fmt.Errorf("create namespace: %w", err))
	}
	return &Change{Key: key, Action: Created}, nil
}

// waitEstablished waits until the CRD name is Established and its kind
// maps. The two are apart: discovery publishes a new group a moment after
// the condition is set.
func (s *Syncer) waitEstablished(ctx context.Context, name string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	crds := s.cluster.Dynamic.Resource(schema.GroupVersionResource{Group: crdGroup, Version: "v1", Resource: "customresourcedefinitions"})
	last := "not yet established"
	for {
		crd, err := crds.Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			established, msg := crdCondition(crd, "Established")
			if !established {
				// NamesAccepted=False never resolves by itself: a name clash.
				if ok, m := crdCondition(crd, "NamesAccepted"); !ok && m != "" {
					return fmt.Errorf("CRD names not accepted: %s", m)
				}
				if msg != "" {
					last = msg
				}
			} else {
				group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
				kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
				_, err = s.cluster.Mapper.RESTMapping(schema.GroupKind{Group: group, Kind: kind})
				if err == nil {
					return nil
				}
				last = "established, not yet served: " + err.Error()
			}
		} else if !apierrors.IsNotFound(err) && !errors.Is(err, context.DeadlineExceeded) {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CRD %s not established within %s: %s", name, timeout, last)
		case <-time.After(crdPollInterval):
		}
	}
}

// crdCondition reports whether the CRD's condition typ is True, and its
// message when it is not.
func crdCondition(crd *unstructured.Unstructured, typ string) (bool, string) {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != typ {
			continue
		}
		if m["status"] == "True" {
			return true, ""
		}
		msg, _ := m["message"].(string)
		return false, msg
	}
	return false, ""
}
