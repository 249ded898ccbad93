package render

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// Limits bounds what one environment's render may consume.
type Limits struct {
	MaxFileSize    int64         // per file read (default 8 MiB)
	MaxReadBytes   int64         // all reads of one render together, repeats included (default 64 MiB)
	MaxFiles       int           // file reads of one render, repeats included (default 20,000)
	MaxOutputBytes int64         // rendered YAML per environment (default 64 MiB)
	Timeout        time.Duration // per environment render (default 60s)
	// MaxYAMLNodes bounds the nodes a YAML file may expand to through its
	// anchors and aliases (default 1,000,000), checked before any decoder
	// that expands aliases sees the file.
	MaxYAMLNodes int
}

// DefaultLimits returns the limits used for any field left zero.
func DefaultLimits() Limits {
	return Limits{
		MaxFileSize:    repofs.DefaultMaxFileSize,
		MaxReadBytes:   64 << 20,
		MaxFiles:       20000,
		MaxOutputBytes: 64 << 20,
		Timeout:        60 * time.Second,
		MaxYAMLNodes:   1_000_000,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = d.MaxFileSize
	}
	if l.MaxReadBytes <= 0 {
		l.MaxReadBytes = d.MaxReadBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = d.MaxFiles
	}
	if l.MaxYAMLNodes <= 0 {
		l.MaxYAMLNodes = d.MaxYAMLNodes
	}
	if l.MaxOutputBytes <= 0 {
		l.MaxOutputBytes = d.MaxOutputBytes
	}
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	return l
}

// outputBudget counts rendered bytes against Limits.MaxOutputBytes.
type outputBudget struct {
	limit int64
	used  int64
}

func (b *outputBudget) add(n int) error {
	b.used += int64(n)
	if b.used > b.limit {
		return fmt.Errorf("rendered output exceeds the limit of %d bytes", b.limit)
	}
	return nil
}

// bounded runs fn with a deadline and turns a panic into an error. kustomize
// and helm cannot be interrupted, so on timeout the work is abandoned rather
// than stopped: the goroutine runs on, but its reads fail from then on (they
// check the cancelled context), which makes it wind down quickly.
func bounded(ctx context.Context, timeout time.Duration, fn func(context.Context) ([]manifest.Object, error)) ([]manifest.Object, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	type outcome struct {
		objs []manifest.Object
		err  error
	}
	done := make(chan outcome, 1) // buffered: an abandoned render must not block forever
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- outcome{err: &Error{Err: fmt.Errorf("renderer panicked: %v", p), Stack: debug.Stack()}}
			}
		}()
		objs, err := fn(ctx)
		done <- outcome{objs, err}
	}()

	select {
	case o := <-done:
		// A render that failed because its reads were cut off by the
		// deadline reports the deadline, not the read.
		if o.err == nil || ctx.Err() == nil {
			return o.objs, o.err
		}
	case <-ctx.Done():
	}
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		// The render goes on in the background until its next read fails.
		return nil, &Error{Err: fmt.Errorf("render timed out after %s: %w", timeout, err)}
	}
	return nil, &Error{Err: fmt.Errorf("render cancelled: %w", err)}
}

// FormatSize prints a byte count the way limits are usually set: 64 MiB, 1 GiB.
func FormatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
