package queue_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/queue"
)

func TestErrorWrappersKeepTheCause(t *testing.T) {
	cause := errors.New("404 repository not found")
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"permanent", queue.Permanent(cause)},
		{"retry after", queue.RetryAfter(cause, time.Minute)},
		{"retry in", queue.RetryIn(cause, time.Minute)},
		{"wait", queue.Wait(cause, time.Minute)},
		{"wrapped again", fmt.Errorf("render: %w", queue.Permanent(cause))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, cause) {
				t.Errorf("errors.Is(%v, cause) = false", tc.err)
			}
			if got := tc.err.Error(); got != cause.Error() && got != "render: "+cause.Error() {
				t.Errorf("message %q hides the cause", got)
			}
		})
	}
	if queue.Permanent(nil) != nil || queue.RetryAfter(nil, time.Second) != nil || queue.RetryIn(nil, time.Second) != nil || queue.Wait(nil, time.Second) != nil {
		t.Error("wrapping nil must stay nil")
	}
}

func TestIsWait(t *testing.T) {
	cause := errors.New("cluster unavailable")
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", cause, false},
		{"wait", queue.Wait(cause, time.Second), true},
		{"wrapped wait", fmt.Errorf("sync: %w", queue.Wait(cause, time.Second)), true},
		{"joined wait", errors.Join(errors.New("one"), queue.Wait(cause, time.Second)), true},
		{"retry in", queue.RetryIn(cause, time.Second), false},
		{"retry after around a wait", queue.RetryAfter(queue.Wait(cause, time.Second), time.Minute), true},
		{"wait around a retry in: the outer counts", queue.Wait(queue.RetryIn(cause, time.Second), time.Second), true},
		{"retry in around a wait: the outer counts", queue.RetryIn(queue.Wait(cause, time.Second), time.Second), false},
	} {
		if got := queue.IsWait(tc.err); got != tc.want {
			t.Errorf("%s: IsWait(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestDefaultBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{
		{0, time.Second},
		{1, time.Second},
		{2, 2 * time.Second},
		{5, 16 * time.Second},
		{9, 256 * time.Second},
		{10, 5 * time.Minute},
		{1000, 5 * time.Minute},
	} {
		if got := queue.DefaultBackoff(tc.attempt); got != tc.want {
			t.Errorf("DefaultBackoff(%d) = %v, want %v", tc.attempt, got, tc.want)
		}
	}
}
