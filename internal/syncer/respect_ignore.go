package syncer

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/normalize"
)

// respectIgnoreOption is Argo CD's sync option making a sync leave the
// fields ignoreDifferences names as they are live.
const respectIgnoreOption = "RespectIgnoreDifferences=true"

// respectIgnore is env's ignoreDifferences when its sync options say
// RespectIgnoreDifferences=true, else nil.
func respectIgnore(env environment.Environment) *normalize.Normalizer {
	if env.SyncPolicy == nil || len(env.IgnoreDifferences) == 0 {
		return nil
	}
	for _, o := range env.SyncPolicy.SyncOptions {
		if strings.TrimSpace(o) == respectIgnoreOption {
			return normalize.New(env.IgnoreDifferences)
		}
	}
	return nil
}

// applied is t's object as apply sends it: desired, and, with
// opts.RespectIgnore and an object that exists, its ignored fields at their
// live values (or left out when live has none), so that a sync does not
// reset what an autoscaler or a webhook manages. A new object is applied as
// rendered, as Argo CD creates it. A rule that cannot be evaluated fails the
// object: applying it whole would reset what it was told to leave alone.
func (s *Syncer) applied(ctx context.Context, t target, exists bool, opts Options) (*unstructured.Unstructured, error) {
	want := desired(t.obj, t.key, opts.App)
	o := normalize.Object{Group: t.key.Group, Kind: t.key.Kind, Namespace: t.key.Namespace, Name: t.key.Name}
	if !exists || !opts.RespectIgnore.Matches(o) {
		return want, nil
	}
	live, err := s.resourceClient(t.mapping, t.key.Namespace).Get(ctx, t.key.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return want, nil
	case err != nil:
		return nil, fmt.Errorf("read live object (%s): %w", respectIgnoreOption, err)
	}
	obj, err := opts.RespectIgnore.Respect(ctx, o, want.Object, live.Object, live.GetManagedFields())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", respectIgnoreOption, err)
	}
	return &unstructured.Unstructured{Object: obj}, nil
}
