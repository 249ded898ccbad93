package job

import (
	"errors"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/queue"
)

// A preview error is masked before the queue logs and stores it, and stays
// what it was for the queue's retry decisions.
func TestMaskErrorKeepsWhatTheQueueReads(t *testing.T) {
	cause := queue.Permanent(errors.New("discovery: cannot parse live-token-1"))
	err := maskError(tokenMasker{}, cause)
	if strings.Contains(err.Error(), "live-token-1") || !strings.Contains(err.Error(), "(redacted: test)") {
		t.Errorf("error text %q, want the token masked", err)
	}
	if !queue.IsPermanent(err) {
		t.Error("a masked permanent error is no longer permanent")
	}
	if maskError(nil, cause) != cause {
		t.Error("without a masker the error changed")
	}
}
