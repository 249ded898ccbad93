// Package reftools finds the reference CLIs `make tools` builds from the Go
// module proxy (kustomize v5.8.2, which matches kustomize/api v0.21.2, helm
// at the SDK's version, and jsonnet from github.com/google/go-jsonnet/cmd/
// jsonnet at the library's version), which fidelity tests compare ferry
// with. A missing CLI fails the test with the command to run: those tests
// never skip.
package reftools

import (
	"os"
	"path/filepath"
	"testing"
)

// Path is the reference CLI name ("kustomize", "helm" or "jsonnet") in
// FERRY_TOOLS_DIR, or else in the Makefile's default, the per-user cache
// every clone shares.
func Path(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv("FERRY_TOOLS_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(cache, "ferry", "tools")
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("reference CLI %s is missing: run `make tools` (builds kustomize, helm and jsonnet from the Go module proxy)", p)
	}
	return p
}
