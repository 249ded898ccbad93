package secrets

import (
	"fmt"
	"sync"
	"time"
)

// RuleIncomplete is the finding of a scan that ran out of its budget: what
// ferry did not read cannot pass as clean.
const RuleIncomplete = "scan-incomplete"

// Limits bound what one Scanner reads for a change, so a pull request of
// gigabytes cannot hold a job for hours.
type Limits struct {
	Bytes int64         // text scanned in all (default 16 MiB)
	Time  time.Duration // from the first scan (default 60 s)
}

// DefaultLimits are the limits of a Scanner made without WithLimits.
func DefaultLimits() Limits { return Limits{Bytes: 16 << 20, Time: time.Minute} }

// WithLimits sets the scanner's budget.
func WithLimits(l Limits) Option { return func(s *Scanner) { s.budget.limits = l } }

// WithRenderInputs names the files the change's renders read: they are
// scanned whatever their size or content, since what a render reads can
// reach a cluster (a binary file behind a configMapGenerator).
func WithRenderInputs(files []string) Option {
	return func(s *Scanner) {
		for _, f := range files {
			s.renderInputs[f] = true
		}
	}
}

// budget counts what a scanner has read.
type budget struct {
	mu     sync.Mutex
	limits Limits
	used   int64
	start  time.Time
}

// spend takes n bytes from the budget and reports whether there was room.
func (b *budget) spend(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.start.IsZero() {
		b.start = time.Now()
	}
	b.used += int64(n)
	return b.used <= b.limits.Bytes && time.Since(b.start) <= b.limits.Time
}

// incomplete is the finding that says where scanning stopped.
func (s *Scanner) incomplete(file, resource, source string) Finding {
	l := s.budget.limits
	return Finding{
		RuleID: RuleIncomplete,
		Description: fmt.Sprintf("ferry stopped scanning for secrets here, after %d MiB or %s: this and the rest of the change are not scanned",
			l.Bytes>>20, l.Time),
		File: file, Line: 1, Resource: resource, Source: source,
		Fingerprint: Fingerprint(RuleIncomplete, file, resource+":incomplete"),
	}
}
