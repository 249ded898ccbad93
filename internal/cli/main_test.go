package cli

import (
	"os"
	"testing"

	"github.com/ferry-gitops/ferry/internal/sandbox"
)

// TestMain lets this test binary serve as the render worker the code under
// test starts (it re-executes its own binary).
func TestMain(m *testing.M) {
	sandbox.RunIfWorker()
	os.Exit(m.Run())
}
