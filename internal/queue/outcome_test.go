package queue

import (
	"errors"
	"testing"
)

func TestOutcome(t *testing.T) {
	failed := errors.New("boom")
	tests := []struct {
		err                         error
		lost, shutdown, lastAttempt bool
		want                        string
	}{
		{nil, false, false, false, "done"},
		{failed, false, false, false, "retry"},
		{failed, false, false, true, "failed"},
		{Permanent(failed), false, false, false, "failed"},
		{failed, false, true, false, "interrupted"},
		{nil, true, false, false, "lost"},
		{failed, true, true, true, "lost"},
		{Wait(failed, 0), false, false, false, "wait"},
		{Wait(failed, 0), false, false, true, "wait"},
		{Wait(Permanent(failed), 0), false, false, false, "failed"},
		{Wait(failed, 0), false, true, false, "interrupted"},
	}
	for _, tt := range tests {
		if got := outcome(tt.err, tt.lost, tt.shutdown, tt.lastAttempt); got != tt.want {
			t.Errorf("outcome(%v, lost %t, shutdown %t, last %t) = %s, want %s", tt.err, tt.lost, tt.shutdown, tt.lastAttempt, got, tt.want)
		}
	}
}
