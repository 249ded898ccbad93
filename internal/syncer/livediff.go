package syncer

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// LiveObject is one rendered object against the cluster. For an object the
// app tracks, Live is the object as the cluster holds it and WouldBe as a
// sync of the render would leave it, both read from the API server (the
// second by a server-side dry-run apply), so defaults and admission apply to
// both alike. For any other object nothing was read: WouldBe is the object
// as a sync would create it, built locally.
type LiveObject struct {
	Key manifest.Key
	// Tracked is set when the cluster holds the object with the app's
	// tracking id: only then was it read.
	Tracked bool
	// Live is nil when the object is not tracked (or was deleted since).
	Live map[string]any
	// WouldBe is the dry-run result, or the object as applied when it is
	// not tracked; nil with Err set when it was refused.
	WouldBe map[string]any
	Err     error
	// ManagedFields are Live's, which Live leaves out: who owns which
	// field, for ignoreDifferences' managedFieldsManagers.
	ManagedFields []metav1.ManagedFieldsEntry
}

// DryRun compares each rendered object with the cluster without changing
// anything: what `/ferry diff --live` shows. The render is untrusted (a pull
// request's head), so it only decides what would be applied, never what is
// read: only objects the app tracks are read and dry-run applied, those
// found by the app's label or in prev (the inventory of its last sync) that
// carry its exact tracking id. Whatever else the render names, another
// app's object or nobody's, is neither read nor sent to the API server; an
// object opts.Permit refuses is not either (its Err is ErrNotPermitted).
func (s *Syncer) DryRun(ctx context.Context, objs []manifest.Object, prev Inventory, opts Options) ([]LiveObject, error) {
	if opts.App == "" {
		return nil, errors.New("syncer: Options.App is required: it decides which objects are tracked")
	}
	opts.legacy = NewInventory(prev...)
	targets := make([]target, len(objs))
	var keys []manifest.Key
	for i, obj := range objs {
		targets[i] = s.resolve(obj, opts.Namespace)
		if t := &targets[i]; t.err == nil && opts.Permit != nil {
			// Outside the project: not read, not sent, only named.
			if err := opts.Permit(t.key, t.key.Namespace != ""); err != nil {
				t.err = fmt.Errorf("%w: %w", ErrNotPermitted, err)
			}
		}
		if targets[i].err == nil {
			keys = append(keys, targets[i].key)
		}
	}
	rendered := NewInventory(keys...)
	// Only the rendered kinds are listed, and only prev's keys the render
	// names are checked: nothing else would be shown.
	var check Inventory
	for _, k := range prev {
		if rendered.Has(k) {
			check = append(check, k)
		}
	}
	tracked, _, err := s.trackedOf(ctx, rendered.Kinds(), check, opts)
	if err != nil {
		return nil, fmt.Errorf("syncer: app %s: find tracked objects: %w", opts.App, err)
	}
	out := make([]LiveObject, 0, len(objs))
	for _, t := range targets {
		lo := LiveObject{Key: t.key, Err: t.err}
		if t.err == nil {
			if _, ok := tracked[t.key]; ok {
				s.dryRunTracked(ctx, t, opts, &lo)
			} else {
				lo.WouldBe = desired(t.obj, t.key, opts.App).Object
			}
		}
		out = append(out, lo)
	}
	return out, nil
}

// dryRunTracked reads a tracked object and dry-run applies the render over
// it. The object is read again, whole, so its tracking id is checked again:
// it may have changed hands since it was listed.
func (s *Syncer) dryRunTracked(ctx context.Context, t target, opts Options, lo *LiveObject) {
	ri := s.resourceClient(t.mapping, t.key.Namespace)
	live, err := ri.Get(ctx, t.key.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		lo.WouldBe = desired(t.obj, t.key, opts.App).Object
		return
	case err != nil:
		lo.Err = fmt.Errorf("read live object: %w", err)
		return
	case !ownedBy(live.GetAnnotations(), opts, t.key):
		lo.WouldBe = desired(t.obj, t.key, opts.App).Object
		return
	}
	lo.Tracked = true
	lo.Live = withoutServerFields(live.Object)
	lo.ManagedFields = live.GetManagedFields()
	res, err := ri.Apply(ctx, t.key.Name, desired(t.obj, t.key, opts.App), metav1.ApplyOptions{FieldManager: opts.FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		lo.Err = err
		return
	}
	lo.WouldBe = withoutServerFields(res.Object)
}

// withoutServerFields drops what the server keeps for itself and changes on every
// write, so two reads of the same state compare equal.
func withoutServerFields(obj map[string]any) map[string]any {
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		if k != "status" {
			out[k] = v
		}
	}
	if md, ok := obj["metadata"].(map[string]any); ok {
		m := make(map[string]any, len(md))
		for k, v := range md {
			switch k {
			case "managedFields", "resourceVersion", "generation", "uid", "creationTimestamp":
			default:
				m[k] = v
			}
		}
		out["metadata"] = m
	}
	return out
}
