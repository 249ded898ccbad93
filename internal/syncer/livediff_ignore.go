package syncer

import (
	"context"
	"errors"
	"fmt"

	"github.com/ferry-gitops/ferry/internal/normalize"
)

// IgnoreDifferences leaves out of each tracked object's Live and WouldBe
// the fields n ignores (the environment's ignoreDifferences), each side
// normalized on its own with the live object's field managers, as Argo CD's
// diff does: a live diff then shows neither an HPA's replicas nor what a
// sync would do to them. Objects not tracked (created by a sync, nothing
// live to compare) are left whole. The error names each object whose rules
// could not all be applied (a jq expression over its limits); the others
// are normalized all the same.
func IgnoreDifferences(ctx context.Context, los []LiveObject, n *normalize.Normalizer) error {
	var errs []error
	for i := range los {
		lo := &los[i]
		o := normalize.Object{Group: lo.Key.Group, Kind: lo.Key.Kind, Namespace: lo.Key.Namespace, Name: lo.Key.Name}
		if lo.Live == nil || lo.WouldBe == nil || !n.Matches(o) {
			continue
		}
		live, err1 := n.Remove(ctx, o, lo.Live, lo.ManagedFields)
		would, err2 := n.Remove(ctx, o, lo.WouldBe, lo.ManagedFields)
		lo.Live, lo.WouldBe = live, would
		if err := errors.Join(err1, err2); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", lo.Key, err))
		}
	}
	return errors.Join(errs...)
}
