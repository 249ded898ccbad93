// Package sandboxtest is test support for packages whose code under test
// renders through a sandbox.Pool: the pool re-executes its own binary, so
// a test binary must be able to serve as a render worker.
package sandboxtest

import (
	"testing"

	"github.com/ferry-gitops/ferry/internal/sandbox"
)

// Main is a TestMain body: a render worker serves and exits; otherwise the
// tests run. Use it as: func TestMain(m *testing.M) { os.Exit(sandboxtest.Main(m)) }
func Main(m *testing.M) int {
	sandbox.RunIfWorker()
	return m.Run()
}
