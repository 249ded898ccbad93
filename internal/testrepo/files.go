package testrepo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/repofs"
)

// SymlinkPrefix marks a Write value as a symbolic link: "symlink:target"
// makes a link to target instead of a regular file.
const SymlinkPrefix = "symlink:"

// Write lays files out under dir: each key is a slash-separated path,
// each value its content, written with mode 0644 and its parent directories
// created with 0755. A value starting with SymlinkPrefix makes a symbolic
// link to the rest of the value. It fails the test on any error.
func Write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, SymlinkPrefix); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Files writes files (as Write does) into a fresh temporary directory,
// removed when the test ends, and returns that directory.
func Files(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	Write(t, dir, files)
	return dir
}

// Tree writes files (as Write does) into a fresh temporary directory and
// opens it as a repository tree, closed when the test ends.
func Tree(t testing.TB, files map[string]string) *repofs.Tree {
	t.Helper()
	tree, err := repofs.OpenDir(Files(t, files))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tree.Close() })
	return tree
}
