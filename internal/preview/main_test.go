package preview

import (
	"os"
	"testing"

	"github.com/ferry-gitops/ferry/internal/sandbox"
)

// TestMain lets this test binary serve as the render worker of the
// benchmarks' sandbox pool.
func TestMain(m *testing.M) {
	sandbox.RunIfWorker()
	os.Exit(m.Run())
}
