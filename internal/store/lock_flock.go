//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// processLock is a flock on a file beside the database. Every process with
// the database open holds it shared; holding it exclusively proves that no
// other process has the database open, so any job still marked running was
// abandoned by a process that died. The kernel drops the lock when its
// holder dies, kill -9 included.
type processLock struct{ f *os.File }

// lockProcess takes the lock exclusively if nobody else holds it (alone is
// then true: call share once orphans are requeued), or else shared.
func lockProcess(ctx context.Context, path string) (l *processLock, alone bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("open lock file: %w", err)
	}
	l = &processLock{f: f}
	err = l.flock(syscall.LOCK_EX | syscall.LOCK_NB)
	if err == nil {
		return l, true, nil
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		_ = f.Close()
		return nil, false, fmt.Errorf("lock %s: %w", path, err)
	}
	// Others have it open. An exclusive holder keeps it only while it opens
	// the database, so poll briefly rather than block without a context.
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		err := l.flock(syscall.LOCK_SH | syscall.LOCK_NB)
		if err == nil {
			return l, false, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, false, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, false, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-t.C:
		}
	}
}

func (l *processLock) flock(how int) error {
	for {
		err := syscall.Flock(int(l.f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// share downgrades an exclusive lock so that other processes may open the
// database too.
func (l *processLock) share() error { return l.flock(syscall.LOCK_SH) }

func (l *processLock) release() error { return l.f.Close() }

// tryLeadFile takes an exclusive flock on path if nobody holds it: the
// leadership of the processes sharing a SQLite file.
func tryLeadFile(ctx context.Context, path string) (context.Context, func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open leader lock: %w", err)
	}
	l := &processLock{f: f}
	if err := l.flock(syscall.LOCK_EX | syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("leader lock %s: %w", path, err)
	}
	lctx, cancel := context.WithCancel(ctx)
	return lctx, func() { cancel(); _ = l.release() }, nil
}
