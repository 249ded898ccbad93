package syncer

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// LiveObject is one object as the cluster holds it and as a sync of the
// render would leave it, both read from the API server (the second by a
// server-side dry-run apply), so defaults and admission apply to both alike.
type LiveObject struct {
	Key manifest.Key
	// Live is nil when the object does not exist yet.
	Live map[string]any
	// WouldBe is the dry-run result; nil with Err set when it was refused.
	WouldBe map[string]any
	Err     error
}

// DryRun compares each rendered object with the cluster without changing
// anything: what `/ferry diff --live` shows.
func (s *Syncer) DryRun(ctx context.Context, objs []manifest.Object, opts Options) []LiveObject {
	out := make([]LiveObject, 0, len(objs))
	for _, obj := range objs {
		t := s.resolve(obj, opts.Namespace)
		lo := LiveObject{Key: t.key}
		if t.err != nil {
			lo.Err = t.err
			out = append(out, lo)
			continue
		}
		ri := s.resourceClient(t.mapping, t.key.Namespace)
		live, err := ri.Get(ctx, t.key.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			lo.Err = fmt.Errorf("read live object: %w", err)
			out = append(out, lo)
			continue
		default:
			lo.Live = withoutServerFields(live.Object)
		}
		res, err := ri.Apply(ctx, t.key.Name, desired(obj, t.key, opts.App), metav1.ApplyOptions{FieldManager: opts.FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			lo.Err = err
		} else {
			lo.WouldBe = withoutServerFields(res.Object)
		}
		out = append(out, lo)
	}
	return out
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
