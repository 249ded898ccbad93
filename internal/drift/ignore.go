package drift

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/normalize"
)

// Ignorer is implemented by a Desired whose apps have ignoreDifferences
// (Argo CD's spec.ignoreDifferences): the fields they name are left out of
// the comparison, so a change to one of them (an HPA scaling spec.replicas)
// is no drift and does not self-heal. Nil: nothing ignored.
type Ignorer interface {
	Ignore(app string) *normalize.Normalizer
}

// ignoring returns live and want without the fields app ignores, each
// normalized on its own (jq expressions select on each side) with the live
// object's field managers. Neither input is modified. An ignore rule that
// fails (a jq expression over its limits) is returned as an error with the
// others applied: its fields are compared, as Argo CD compares what a
// failing rule would have removed.
func (w *Watcher) ignoring(ctx context.Context, app string, key manifest.Key, live *unstructured.Unstructured, want map[string]any) (*unstructured.Unstructured, map[string]any, error) {
	ig, ok := w.desired.(Ignorer)
	if !ok {
		return live, want, nil
	}
	n := ig.Ignore(app)
	o := normalize.Object{Group: key.Group, Kind: key.Kind, Namespace: key.Namespace, Name: key.Name}
	if !n.Matches(o) {
		return live, want, nil
	}
	managed := live.GetManagedFields()
	liveObj, err1 := n.Remove(ctx, o, live.Object, managed)
	wantObj, err2 := n.Remove(ctx, o, want, managed)
	var err error
	switch {
	case err1 != nil:
		err = fmt.Errorf("drift: app %s: %s: %w", app, key, err1)
	case err2 != nil:
		err = fmt.Errorf("drift: app %s: %s: %w", app, key, err2)
	}
	return &unstructured.Unstructured{Object: liveObj}, wantObj, err
}
