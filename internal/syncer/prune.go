package syncer

import (
	"context"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// liveObject is one of the app's objects as found in the cluster: its
// metadata is all the syncer needs of it (ownership, wave, sync options,
// UID and resourceVersion).
type liveObject struct {
	key  manifest.Key
	meta *metav1.PartialObjectMetadata
}

// prune deletes the app's objects that are not in applied, the keys of
// every rendered object (all applied by now). It returns the next
// inventory: applied plus whatever stays.
func (s *Syncer) prune(ctx context.Context, prev, applied Inventory, cs *ChangeSet, opts Options) (Inventory, error) {
	// Listed afresh rather than reusing the lists taken while applying: a
	// sync that waited on waves may be minutes old, and a deletion must go
	// by who owns the object now.
	live, forgotten, err := s.tracked(ctx, prev, applied, opts)
	if err != nil {
		return prev.Union(applied), fmt.Errorf("syncer: app %s: find objects to prune, nothing pruned: %w", opts.App, err)
	}
	for _, k := range forgotten {
		cs.note("%s no longer carries the app's tracking id (someone took it over): forgotten, not pruned", k)
	}
	candidates := pruneCandidates(live, applied)
	next := applied
	for _, c := range candidates {
		next = append(next, c.key)
	}
	next = NewInventory(next...)
	if len(candidates) == 0 {
		return next, nil
	}

	if !opts.Prune {
		for _, c := range candidates {
			cs.add(Change{Key: c.key, Action: PruneSkipped, Error: "no longer rendered; pruning is off"})
		}
		return next, nil
	}
	var deletable []liveObject
	for _, c := range candidates {
		if why, ok := pruneDisabled(c.meta.Annotations); ok {
			cs.add(Change{Key: c.key, Action: PruneSkipped, Error: why})
			continue
		}
		if opts.Permit != nil {
			if err := opts.Permit(c.key, c.key.Namespace != ""); err != nil {
				cs.add(Change{Key: c.key, Action: PruneSkipped, Error: "not pruned: " + err.Error()})
				continue
			}
		}
		deletable = append(deletable, c)
	}
	tracked := len(next)
	emptyAllowed := len(applied) == 0 && opts.AllowEmpty
	if opts.MaxPruneFraction > 0 && !emptyAllowed && float64(len(deletable)) > opts.MaxPruneFraction*float64(tracked) {
		limit := &PruneLimitError{Prune: len(deletable), Tracked: tracked, Max: opts.MaxPruneFraction}
		for _, c := range deletable {
			cs.add(Change{Key: c.key, Action: PruneSkipped, Error: limit.Error()})
		}
		return next, fmt.Errorf("syncer: app %s: %w", opts.App, limit)
	}
	pruned, err := s.deleteAll(ctx, deletable, cs, opts)
	return next.Difference(pruned), err
}

// pruneCandidates are the live objects not in applied, in reverse apply
// order: later waves first, and within a wave the things that depend on
// others (Deployments) before what they depend on (ConfigMaps, Namespaces,
// CRDs).
func pruneCandidates(live map[manifest.Key]*metav1.PartialObjectMetadata, applied Inventory) []liveObject {
	var candidates []liveObject
	for k, m := range live {
		if !applied.Has(k) {
			candidates = append(candidates, liveObject{key: k, meta: m})
		}
	}
	sort.Slice(candidates, func(i, j int) bool {
		a, b := candidates[i], candidates[j]
		if wa, wb := syncWave(a.meta.Annotations[SyncWaveAnnotation]), syncWave(b.meta.Annotations[SyncWaveAnnotation]); wa != wb {
			return wa > wb
		}
		return manifest.Less(b.key, a.key)
	})
	return candidates
}

// deleteAll deletes objs, in order kind by kind, the objects of a kind in
// parallel, and adds their outcomes to cs. It returns those it deleted, and
// a *PruneError when some could not be.
func (s *Syncer) deleteAll(ctx context.Context, objs []liveObject, cs *ChangeSet, opts Options) (Inventory, error) {
	var failed []*ObjectError
	pruned := Inventory{}
	for _, group := range kindGroups(objs) {
		errs := make([]error, len(group))
		forEach(len(group), opts.Concurrency, func(i int) {
			errs[i] = s.delete(ctx, group[i])
		})
		for i, obj := range group {
			k := obj.key
			if errs[i] != nil {
				cs.add(Change{Key: k, Action: Failed, Error: errs[i].Error()})
				failed = append(failed, &ObjectError{Key: k, Err: errs[i]})
				continue
			}
			cs.add(Change{Key: k, Action: Pruned})
			pruned = append(pruned, k)
		}
	}
	if len(failed) > 0 {
		return pruned, &PruneError{Errors: failed}
	}
	return pruned, nil
}

// kindGroups splits objects, sorted, into runs of one kind.
func kindGroups(objs []liveObject) [][]liveObject {
	var out [][]liveObject
	for _, o := range objs {
		if n := len(out); n > 0 && sameKind(out[n-1][0].key, o.key) {
			out[n-1] = append(out[n-1], o)
		} else {
			out = append(out, []liveObject{o})
		}
	}
	return out
}

// delete deletes the object if it is still the one that was inspected (same
// UID): not a namesake created since. Background propagation, as kubectl:
// the object goes at once and the garbage collector takes its dependents.
func (s *Syncer) delete(ctx context.Context, o liveObject) error {
	ri, err := s.metadataFor(o.key)
	if err != nil {
		return err
	}
	uid := o.meta.UID
	policy := metav1.DeletePropagationBackground
	err = ri.Delete(ctx, o.key.Name, metav1.DeleteOptions{
		Preconditions:     &metav1.Preconditions{UID: &uid},
		PropagationPolicy: &policy,
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// tracked finds the app's live objects: those of the kinds it has or had
// that carry its exact tracking id. Listing by label finds them even when
// prev is lost; getting prev's keys that the lists missed finds those whose
// label someone removed. forgotten are prev's keys that exist without the
// app's tracking id.
func (s *Syncer) tracked(ctx context.Context, prev, applied Inventory, opts Options) (live map[manifest.Key]*metav1.PartialObjectMetadata, forgotten []manifest.Key, err error) {
	return s.trackedOf(ctx, prev.Union(applied).Kinds(), prev.Difference(applied), opts)
}

// trackedOf finds the app's live objects of kinds: listed by the app label,
// plus those keys of check the lists missed, read one by one; all kept only
// with the app's exact tracking id. forgotten are the keys of check that
// exist without it. It reads metadata only.
func (s *Syncer) trackedOf(ctx context.Context, kinds []schema.GroupKind, check Inventory, opts Options) (live map[manifest.Key]*metav1.PartialObjectMetadata, forgotten []manifest.Key, err error) {
	lists := make([]map[manifest.Key]*metav1.PartialObjectMetadata, len(kinds))
	errs := make([]error, len(kinds))
	forEach(len(kinds), opts.Concurrency, func(i int) {
		lists[i], errs[i] = s.listTracked(ctx, kinds[i], opts.App)
	})
	live = map[manifest.Key]*metav1.PartialObjectMetadata{}
	for i := range kinds {
		if errs[i] != nil {
			return nil, nil, errs[i]
		}
		for k, m := range lists[i] {
			live[k] = m
		}
	}

	var missed []manifest.Key
	for _, k := range check {
		if _, ok := live[k]; !ok {
			missed = append(missed, k)
		}
	}
	found := make([]*metav1.PartialObjectMetadata, len(missed))
	taken := make([]bool, len(missed))
	errs = make([]error, len(missed))
	forEach(len(missed), opts.Concurrency, func(i int) {
		k := missed[i]
		ri, err := s.metadataFor(k)
		if meta.IsNoMatchError(err) {
			return
		}
		if err != nil {
			errs[i] = err
			return
		}
		m, err := ri.Get(ctx, k.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			errs[i] = fmt.Errorf("read %s: %w", k, err)
		case ownedBy(m.Annotations, opts, k):
			found[i] = m
		default:
			// Someone took it over: it is not ours to prune any more.
			taken[i] = true
		}
	})
	for i, k := range missed {
		if errs[i] != nil {
			return nil, nil, errs[i]
		}
		if found[i] != nil {
			live[k] = found[i]
		}
		if taken[i] {
			forgotten = append(forgotten, k)
		}
	}
	return live, forgotten, nil
}

// listTracked lists the app's objects of one kind, in all namespaces, by
// the app label, and keeps those with the exact tracking id. A kind the
// cluster does not serve (its CRD deleted, or not yet created) has none.
func (s *Syncer) listTracked(ctx context.Context, gk schema.GroupKind, app string) (map[manifest.Key]*metav1.PartialObjectMetadata, error) {
	mapping, err := s.cluster.Mapper.RESTMapping(gk)
	if meta.IsNoMatchError(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", gk, err)
	}
	selector := labels.SelectorFromSet(labels.Set{AppLabel: AppLabelValue(app)}).String()
	list, err := s.cluster.Metadata.Resource(mapping.Resource).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", mapping.Resource, err)
	}
	out := make(map[manifest.Key]*metav1.PartialObjectMetadata, len(list.Items))
	for i := range list.Items {
		m := &list.Items[i]
		k := manifest.Key{Group: gk.Group, Kind: gk.Kind, Namespace: m.Namespace, Name: m.Name}
		if owned(m.Annotations, app, k) {
			out[k] = m
		}
	}
	return out, nil
}

// metadataFor is the metadata client for an object known by its key.
func (s *Syncer) metadataFor(k manifest.Key) (metadata.ResourceInterface, error) {
	mapping, err := s.cluster.Mapper.RESTMapping(schema.GroupKind{Group: k.Group, Kind: k.Kind})
	if err != nil {
		return nil, fmt.Errorf("map kind of %s: %w", k, err)
	}
	r := s.cluster.Metadata.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return r.Namespace(k.Namespace), nil
	}
	return r, nil
}
