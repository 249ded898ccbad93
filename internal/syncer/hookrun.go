package syncer

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/synchook"
)

const (
	// HookOfAnnotation marks a hook ferry created: <app>:<group>/<kind>:
	// <namespace>/<name or generateName>. Hooks carry it instead of the
	// tracking id, so they are never tracked, pruned or watched for drift;
	// it tells a hook's previous instance for BeforeHookCreation.
	HookOfAnnotation = "ferry.dev/hook-of"
	// HookAppLabel carries the app on hooks (AppLabelValue), so that the
	// previous instances of a generateName hook can be listed.
	HookAppLabel = "ferry.dev/hook-app"
)

// HookError is a hook phase that failed: a hook could not be created, or
// failed, or did not complete in time.
type HookError struct {
	Phase  synchook.Phase
	Errors []*ObjectError
}

func (e *HookError) Error() string {
	return fmt.Sprintf("%s hook(s) failed: %s", e.Phase, joinErrors(e.Errors))
}

// Unwrap returns the hooks' errors.
func (e *HookError) Unwrap() []error { return unwrapAll(e.Errors) }

// runningHook is a hook created in the cluster, waited on.
type runningHook struct {
	key    manifest.Key
	client dynamic.ResourceInterface
	spec   synchook.Spec
	uid    string
	err    error // why it could not be created, or why it failed
	done   bool
}

// runHooks runs hooks (those of one phase, in run order) wave by wave: a
// wave's hooks are created, then waited on until each completed or failed,
// or opts.HealthTimeout passed, then deleted by their policies. A failed
// wave ends the phase with a *HookError.
func (s *Syncer) runHooks(ctx context.Context, phase synchook.Phase, hooks []hookTask, opts Options, cs *ChangeSet) error {
	for _, run := range hookWaves(hooks) {
		running := make([]*runningHook, len(run))
		for i, h := range run {
			running[i] = s.createHook(ctx, h, phase, opts, cs)
		}
		s.awaitHooks(ctx, running, opts)
		var failed []*ObjectError
		for _, r := range running {
			if r.err != nil {
				failed = append(failed, &ObjectError{Key: r.key, Err: r.err})
				cs.add(Change{Key: r.key, Action: HookFailed, Hook: phase, Error: r.err.Error()})
			} else {
				cs.add(Change{Key: r.key, Action: HookSucceeded, Hook: phase})
			}
			if r.uid == "" {
				continue
			}
			if (r.err == nil && r.spec.Deletes(synchook.HookSucceeded)) || (r.err != nil && r.spec.Deletes(synchook.HookFailed)) {
				_ = s.deleteHook(ctx, r, phase, opts, cs) // noted in cs: the hook's outcome stands
			}
		}
		if len(failed) > 0 {
			return &HookError{Phase: phase, Errors: failed}
		}
	}
	return nil
}

// createHook creates one hook, first deleting its previous instance when
// its policy says so. A named hook that exists and is not the app's is not
// touched (ErrNotOwned); one that is the app's, kept from an earlier sync,
// is applied again, as Argo CD does.
func (s *Syncer) createHook(ctx context.Context, h hookTask, phase synchook.Phase, opts Options, cs *ChangeSet) *runningHook {
	r := &runningHook{key: h.obj.Key, spec: h.spec}
	t := s.resolve(h.obj, opts.Namespace)
	if t.err != nil {
		r.err = t.err
		return r
	}
	r.key, r.client = t.key, s.resourceClient(t.mapping, t.key.Namespace)
	id := hookID(opts.App, t.key, h.generateName())
	if h.spec.Deletes(synchook.BeforeHookCreation) {
		if r.err = s.deletePrevious(ctx, r, id, phase, opts, cs); r.err != nil {
			return r
		}
	}
	obj := hookObject(h.obj, t.key, opts.App, id)
	var out *unstructured.Unstructured
	if t.key.Name == "" {
		out, r.err = r.client.Create(ctx, obj, metav1.CreateOptions{FieldManager: opts.FieldManager})
	} else {
		live, err := r.client.Get(ctx, t.key.Name, metav1.GetOptions{})
		switch {
		case err == nil && !hookOwned(live.GetAnnotations(), id, opts, t.key):
			r.err = notOwned(live.GetAnnotations(), opts.App)
		case err != nil && !apierrors.IsNotFound(err):
			r.err = fmt.Errorf("read live hook: %w", err)
		default:
			out, r.err = r.client.Apply(ctx, t.key.Name, obj, metav1.ApplyOptions{FieldManager: opts.FieldManager, Force: true})
		}
	}
	if r.err != nil {
		r.err = fmt.Errorf("create hook: %w", r.err)
		return r
	}
	r.key.Name, r.uid = out.GetName(), string(out.GetUID())
	cs.add(Change{Key: r.key, Action: HookCreated, Hook: phase})
	return r
}

// deletePrevious deletes the hook's earlier instances: the object of its
// name, when it is the app's; for a generateName hook, those the app
// created for it. It waits until a named one is gone, so its name is free.
func (s *Syncer) deletePrevious(ctx context.Context, r *runningHook, id string, phase synchook.Phase, opts Options, cs *ChangeSet) error {
	var prev []unstructured.Unstructured
	if r.key.Name != "" {
		live, err := r.client.Get(ctx, r.key.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return fmt.Errorf("read previous hook: %w", err)
		case !hookOwned(live.GetAnnotations(), id, opts, r.key):
			return notOwned(live.GetAnnotations(), opts.App)
		}
		prev = append(prev, *live)
	} else {
		sel := labels.SelectorFromSet(labels.Set{HookAppLabel: AppLabelValue(opts.App)}).String()
		list, err := r.client.List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return fmt.Errorf("list previous hooks: %w", err)
		}
		for _, o := range list.Items {
			if o.GetAnnotations()[HookOfAnnotation] == id {
				prev = append(prev, o)
			}
		}
	}
	for _, o := range prev {
		old := &runningHook{key: r.key, client: r.client, uid: string(o.GetUID())}
		old.key.Name = o.GetName()
		if err := s.deleteHook(ctx, old, phase, opts, cs); err != nil {
			return err
		}
	}
	if r.key.Name != "" && len(prev) > 0 {
		return s.awaitGone(ctx, r, opts)
	}
	return nil
}

// deleteHook deletes a hook instance (if it is still the one seen, by UID),
// in the background as kubectl does: a Job goes at once, its Pods after. A
// deletion that fails is noted: the hook's own outcome stands.
func (s *Syncer) deleteHook(ctx context.Context, r *runningHook, phase synchook.Phase, opts Options, cs *ChangeSet) error {
	uid := k8stypes.UID(r.uid)
	policy := metav1.DeletePropagationBackground
	err := r.client.Delete(ctx, r.key.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}, PropagationPolicy: &policy})
	if err != nil && !apierrors.IsNotFound(err) {
		cs.note("%s hook %s could not be deleted: %v", phase, r.key, err)
		return fmt.Errorf("delete hook %s: %w", r.key, err)
	}
	cs.add(Change{Key: r.key, Action: HookDeleted, Hook: phase})
	return nil
}

// awaitGone waits until the named hook no longer exists (a finalizer may
// hold it a while), within opts.HealthTimeout.
func (s *Syncer) awaitGone(ctx context.Context, r *runningHook, opts Options) error {
	ctx, cancel := context.WithTimeout(ctx, opts.HealthTimeout)
	defer cancel()
	for {
		_, err := r.client.Get(ctx, r.key.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("previous hook %s still exists after %s", r.key, opts.HealthTimeout)
		case <-time.After(opts.PollInterval):
		}
	}
}

// hookID is the value of HookOfAnnotation for app's hook k (named, or by
// its generateName).
func hookID(app string, k manifest.Key, generateName string) string {
	if k.Name == "" {
		k.Name = generateName
	}
	return TrackingID(app, k)
}

// hookOwned: the live object is this hook's earlier instance, or an object
// the app tracked as a resource before it became a hook.
func hookOwned(annotations map[string]string, id string, opts Options, k manifest.Key) bool {
	return annotations[HookOfAnnotation] == id || ownedBy(annotations, opts, k)
}

// hookObject is the hook as ferry creates it: in its effective namespace,
// marked as the app's hook and without the tracking id or app label, which
// would make it a tracked resource.
func hookObject(obj manifest.Object, k manifest.Key, app, id string) *unstructured.Unstructured {
	out := desired(obj, k, app)
	md, _ := out.Object["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	delete(ann, TrackingAnnotation)
	ann[HookOfAnnotation] = id
	lbl, _ := md["labels"].(map[string]any)
	delete(lbl, AppLabel)
	lbl[HookAppLabel] = AppLabelValue(app)
	if k.Name == "" {
		delete(md, "name")
	}
	return out
}
