//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package store

import "context"

// processLock is not implemented here: jobs abandoned by a dead process are
// recovered only when their lease expires.
type processLock struct{}

func lockProcess(context.Context, string) (*processLock, bool, error) {
	return &processLock{}, false, nil
}

func (*processLock) share() error   { return nil }
func (*processLock) release() error { return nil }

// tryLeadFile: without flock, a SQLite database has one process, which
// leads.
func tryLeadFile(ctx context.Context, _ string) (context.Context, func(), error) {
	lctx, cancel := context.WithCancel(ctx)
	return lctx, cancel, nil
}
