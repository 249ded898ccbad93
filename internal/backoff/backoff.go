// Package backoff computes retry delays. Exponential is the one policy ferry
// uses: the work queue's own retries, a sync's retry policy (Argo CD's
// spec.syncPolicy.retry.backoff) and self-heal's waits between re-applies of
// an object that keeps drifting.
//
// Delays are counted by retry: Delay(0) is the wait before the first try,
// which is none, and Delay(n) the wait before the n-th retry. So
//
//	// Argo CD's sync retry: 5s, 10s, 20s … 3m after failed attempt 0, 1, 2 …
//	sync := Exponential{Base: 5 * time.Second, Factor: 2, Max: 3 * time.Minute}
//	wait := sync.Delay(failed + 1)
//
//	// Self-heal: the first heal at once, then 2s, 6s, 18s … 5m.
//	heal := Exponential{Base: 2 * time.Second, Factor: 3, Max: 5 * time.Minute}
//	wait := heal.Delay(earlierHeals)
package backoff

import (
	"math"
	"time"
)

// Exponential waits Base before the first retry and Factor times longer
// before each one after, never more than Max.
type Exponential struct {
	// Base is the wait before the first retry.
	Base time.Duration
	// Factor multiplies the wait from one retry to the next; below 2 the
	// wait stays Base.
	Factor int64
	// Max caps the wait; 0 leaves it uncapped (up to the largest
	// time.Duration, where the growth stops instead of overflowing).
	Max time.Duration
}

// Delay is the wait before retry n (1 is the first retry): Base·Factor^(n-1),
// capped at Max. It is 0 for n <= 0, the first try, and for Base <= 0.
func (e Exponential) Delay(n int) time.Duration {
	if n <= 0 || e.Base <= 0 {
		return 0
	}
	ceiling := e.Max
	if ceiling <= 0 {
		ceiling = math.MaxInt64
	}
	d := e.Base
	if e.Factor >= 2 {
		for range n - 1 {
			if d > ceiling/time.Duration(e.Factor) {
				return ceiling
			}
			d *= time.Duration(e.Factor)
		}
	}
	return min(d, ceiling)
}
