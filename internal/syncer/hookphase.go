package syncer

import (
	"context"
	"errors"
	"fmt"

	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/synchook"
)

// postSync runs the PostSync hooks once the applied objects are healthy, as
// Argo CD does; without PostSync hooks there is nothing to wait for here.
func (s *Syncer) postSync(ctx context.Context, hooks []hookTask, applied []manifest.Key, opts Options, cs *ChangeSet) error {
	if len(hooks) == 0 {
		return nil
	}
	if _, err := s.waitHealthy(ctx, applied, opts.HealthTimeout, opts.PollInterval, opts.Concurrency); err != nil {
		return fmt.Errorf("syncer: app %s: resources did not become healthy, PostSync hooks not run: %w", opts.App, err)
	}
	if err := s.runHooks(ctx, synchook.PostSync, hooks, opts, cs); err != nil {
		return fmt.Errorf("syncer: app %s: %w", opts.App, err)
	}
	return nil
}

// syncFailed runs the SyncFail hooks of a sync that failed with err, and
// returns err, with theirs when they fail too: the sync's own error stays
// what errors.Is and errors.As find first.
func (s *Syncer) syncFailed(ctx context.Context, hooks hookSet, opts Options, cs *ChangeSet, err error) error {
	fail := hooks.of(synchook.SyncFail)
	if len(fail) == 0 {
		return err
	}
	if herr := s.runHooks(ctx, synchook.SyncFail, fail, opts, cs); herr != nil {
		return errors.Join(err, fmt.Errorf("syncer: app %s: %w", opts.App, herr))
	}
	return err
}
