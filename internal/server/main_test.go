package server

import (
	"os"
	"testing"

	"github.com/ferry-gitops/ferry/internal/sandbox/sandboxtest"
)

// The code under test renders in worker processes: this test binary.
func TestMain(m *testing.M) { os.Exit(sandboxtest.Main(m)) }
