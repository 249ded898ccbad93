package webhook

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sync/semaphore"
)

// Limits bound what an unauthenticated peer can make ferry hold while it
// sends a body: nothing about a delivery can be trusted until the whole body
// has arrived and its signature checks out. Zero fields take the defaults.
type Limits struct {
	// MaxBody is the largest body read (GitHub's own cap, 25 MB); a larger
	// declared Content-Length is answered 413 without reading.
	MaxBody int64
	// InFlight is the byte budget shared by every body being read. Buffers
	// grow as bytes arrive and each byte of them is held from the budget, so
	// a peer must really send what it holds; a delivery that would go over
	// is answered 503 with Retry-After.
	InFlight int64
	// Grace is the longest a body may pause between reads and the head start
	// before MinRate applies.
	Grace time.Duration
	// MinRate is the average rate, in bytes per second, a body must keep up
	// after Grace. A peer that falls behind is answered 408 and dropped.
	MinRate int64
}

// DefaultLimits suit GitHub, which sends a whole payload at once and gives
// up on a delivery after 10 s: 25 MB per body; 48 MiB in flight, enough for
// one 25 MB body while it grows (its last two buffers, 16 MiB and 25 MB, are
// held together) and all the ordinary ones beside it; pauses of at most 5 s
// and 512 KiB/s on average (a 25 MB body may take about 55 s).
//
// Buffers a peer abandons are garbage until the next GC, so under a flood
// the heap can reach about twice what is live: keep InFlight well under
// half the memory ferry may use for webhooks.
func DefaultLimits() Limits {
	return Limits{MaxBody: MaxBody, InFlight: 48 << 20, Grace: 5 * time.Second, MinRate: 512 << 10}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBody <= 0 {
		l.MaxBody = d.MaxBody
	}
	if l.InFlight <= 0 {
		l.InFlight = d.InFlight
	}
	if l.Grace <= 0 {
		l.Grace = d.Grace
	}
	if l.MinRate <= 0 {
		l.MinRate = d.MinRate
	}
	return l
}

// firstChunk is the buffer a body starts with; it doubles as bytes arrive.
const firstChunk = 16 << 10

var (
	errNoLength   = errors.New("no Content-Length")
	errTooLarge   = errors.New("body over the size limit")
	errOverBudget = errors.New("webhook bodies in flight are over budget")
	errTooSlow    = errors.New("body arrived too slowly")
	errShortBody  = errors.New("body shorter than its Content-Length")
)

// bodyReader reads bodies within a shared budget (see Limits).
type bodyReader struct {
	limits Limits
	budget *semaphore.Weighted
}

func newBodyReader(l Limits) *bodyReader {
	l = l.withDefaults()
	return &bodyReader{limits: l, budget: semaphore.NewWeighted(l.InFlight)}
}

// read reads the n-byte body r. The buffer grows by doubling as bytes
// arrive and its capacity is held from the budget until release is called
// (release is a no-op after an error). setDeadline moves the connection's
// read deadline; it is cleared once the body is in, so the handler's own
// work is not cut short.
func (b *bodyReader) read(r io.Reader, n int64, setDeadline func(time.Time) error) (body []byte, release func(), err error) {
	switch {
	case n < 0:
		return nil, func() {}, errNoLength
	case n > b.limits.MaxBody:
		return nil, func() {}, errTooLarge
	}
	var held int64
	release = func() {
		b.budget.Release(held)
		held = 0
	}
	start := time.Now()
	for int64(len(body)) < n {
		if len(body) == cap(body) {
			size := min(n, max(firstChunk, 2*int64(cap(body))))
			if !b.budget.TryAcquire(size) {
				release()
				return nil, func() {}, errOverBudget
			}
			grown := make([]byte, len(body), size)
			copy(grown, body)
			b.budget.Release(held)
			body, held = grown, size
		}
		_ = setDeadline(b.deadline(start, len(body)))
		m, rerr := r.Read(body[len(body):cap(body)])
		body = body[:len(body)+m]
		if rerr != nil && (int64(len(body)) < n || !errors.Is(rerr, io.EOF)) {
			release()
			return nil, func() {}, classify(rerr)
		}
	}
	_ = setDeadline(time.Time{})
	return body, release, nil
}

// deadline is when the next bytes must have arrived: within Grace of now,
// and no later than the average rate allows for what has come so far.
func (b *bodyReader) deadline(start time.Time, received int) time.Time {
	now := time.Now()
	paced := start.Add(b.limits.Grace + time.Duration(float64(received)/float64(b.limits.MinRate)*float64(time.Second)))
	if stall := now.Add(b.limits.Grace); stall.Before(paced) {
		return stall
	}
	return paced
}

func classify(err error) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errTooSlow
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errShortBody
	}
	return fmt.Errorf("read body: %w", err)
}
