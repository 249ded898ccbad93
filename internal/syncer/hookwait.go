package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferry-gitops/ferry/internal/health"
)

// errHookTimeout: a hook was still running when the wait ended.
var errHookTimeout = errors.New("hook did not complete in time")

// awaitHooks polls the created hooks until each has completed or failed, or
// opts.HealthTimeout has passed (those still running fail then). Hooks that
// could not be created are already done.
func (s *Syncer) awaitHooks(ctx context.Context, hooks []*runningHook, opts Options) {
	waitCtx, cancel := context.WithTimeout(ctx, opts.HealthTimeout)
	defer cancel()
	for {
		pending := 0
		for _, r := range hooks {
			if r.done || r.err != nil {
				continue
			}
			r.done, r.err = s.hookDone(waitCtx, r)
			if !r.done && r.err == nil {
				pending++
			}
		}
		if pending == 0 {
			return
		}
		select {
		case <-waitCtx.Done():
			for _, r := range hooks {
				if !r.done && r.err == nil {
					r.err = fmt.Errorf("%w: still running after %s", errHookTimeout, opts.HealthTimeout)
				}
			}
			return
		case <-time.After(opts.PollInterval):
		}
	}
}

// hookDone looks at a hook once: done when it completed, an error when it
// failed or is gone. A read that fails is tried again at the next look.
func (s *Syncer) hookDone(ctx context.Context, r *runningHook) (bool, error) {
	live, err := r.client.Get(ctx, r.key.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return false, errors.New("hook was deleted before it completed")
	case err != nil:
		return false, nil
	case string(live.GetUID()) != r.uid:
		return false, errors.New("hook was replaced before it completed")
	}
	return hookStatus(live)
}

// hookStatus is Argo CD's reading of a hook: a Job is done when Complete
// and fails when Failed; a Pod by its phase; anything else is done once it
// is healthy, and fails when it is degraded.
func hookStatus(live *unstructured.Unstructured) (bool, error) {
	gk := live.GroupVersionKind().GroupKind()
	if gk.Group == "" && gk.Kind == "Pod" {
		phase, _, _ := unstructured.NestedString(live.Object, "status", "phase")
		switch phase {
		case "Succeeded":
			return true, nil
		case "Failed":
			msg, _, _ := unstructured.NestedString(live.Object, "status", "message")
			return true, fmt.Errorf("pod failed: %s", msg)
		}
		return false, nil
	}
	st := health.Check(live)
	switch st.Code {
	case health.Healthy:
		return true, nil
	case health.Degraded:
		return true, errors.New(st.Message)
	}
	return false, nil
}
