package repofs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeFiles lays files out under dir; a value starting with "symlink:" makes a symlink.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "symlink:"); ok {
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

func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir,
		"GIT_AUTHOR_NAME=ferry", "GIT_AUTHOR_EMAIL=ferry@example.com",
		"GIT_COMMITTER_NAME=ferry", "GIT_COMMITTER_EMAIL=ferry@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commitAll commits the work tree and returns the commit id.
func commitAll(t *testing.T, dir string) string {
	t.Helper()
	runGit(t, dir, "add", "-A")
	runGit(t, dir, "commit", "-q", "--allow-empty", "-m", "test")
	return runGit(t, dir, "rev-parse", "HEAD")
}

// bothTrees returns the same files as a working directory and as a commit.
func bothTrees(t *testing.T, files map[string]string) map[string]*Tree {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	writeFiles(t, dir, files)
	runGit(t, dir, "init", "-q")
	commitAll(t, dir)
	git, err := OpenGit(context.Background(), filepath.Join(dir, ".git"), "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = git.Close() })
	disk, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*Tree{"git": git, "dir": disk}
}

func TestCleanAndJoin(t *testing.T) {
	tests := []struct {
		dir, elem string
		want      string
		escapes   bool
	}{
		{".", "a/b/../c", "a/c", false},
		{"a/b", "../../c", "c", false},
		{"a/b", "../../../c", "", true},
		{".", "..", "", true},
		{"a", "b/../../../c", "", true},
		{"a", "/etc/passwd", "", true},
		{"a", "./x//y/", "a/x/y", false},
	}
	for _, tt := range tests {
		got, err := Join(tt.dir, tt.elem)
		if tt.escapes {
			if !errors.Is(err, ErrOutsideRoot) {
				t.Errorf("Join(%q, %q) = %q, %v; want ErrOutsideRoot", tt.dir, tt.elem, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Join(%q, %q) = %q, %v; want %q", tt.dir, tt.elem, got, err, tt.want)
		}
	}
	for in, want := range map[string]string{"/a/b": "a/b", `a\b`: "a/b", "/": ".", "a/./b/": "a/b"} {
		if got, err := Clean(in); err != nil || got != want {
			t.Errorf("Clean(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Clean("a/../../b"); !errors.Is(err, ErrOutsideRoot) {
		t.Errorf("Clean escaped the root: %v", err)
	}
}

func TestGitAndDirTreesAgree(t *testing.T) {
	files := map[string]string{
		"README.md":            "hello\n",
		"apps/web/deploy.yaml": "kind: Deployment\n",
		"apps/web/link.yaml":   "symlink:deploy.yaml",
		"apps/shared":          "symlink:../lib",
		"lib/common.yaml":      "kind: ConfigMap\n",
		"lib/deep/nested.yaml": "x: 1\n",
	}
	for name, tree := range bothTrees(t, files) {
		t.Run(name, func(t *testing.T) {
			want := []string{"README.md", "apps/shared", "apps/web/deploy.yaml", "apps/web/link.yaml", "lib/common.yaml", "lib/deep/nested.yaml"}
			if got := tree.Files(); !slices.Equal(got, want) {
				t.Errorf("Files() = %v, want %v", got, want)
			}
			reads := map[string]string{
				"apps/web/deploy.yaml":     "kind: Deployment\n",
				"apps/web/link.yaml":       "kind: Deployment\n",
				"apps/shared/common.yaml":  "kind: ConfigMap\n",
				"/lib/deep/nested.yaml":    "x: 1\n",
				"apps/web/../../README.md": "hello\n",
			}
			for p, content := range reads {
				got, err := tree.ReadFile(p)
				if err != nil || string(got) != content {
					t.Errorf("ReadFile(%q) = %q, %v; want %q", p, got, err, content)
				}
			}
			if got, err := tree.ReadDir("apps/shared"); err != nil || !slices.Equal(got, []string{"common.yaml", "deep"}) {
				t.Errorf("ReadDir through a symlink = %v, %v", got, err)
			}
			if got, err := tree.ReadDir("."); err != nil || !slices.Equal(got, []string{"README.md", "apps", "lib"}) {
				t.Errorf("ReadDir(.) = %v, %v", got, err)
			}
			if !tree.IsDir("apps/shared/deep") || tree.IsDir("README.md") || !tree.Exists("apps/web/link.yaml") || tree.Exists("nope") {
				t.Error("IsDir/Exists disagree with the files")
			}
			if real, err := tree.Resolve("apps/shared/deep/nested.yaml"); err != nil || real != "lib/deep/nested.yaml" {
				t.Errorf("Resolve = %q, %v", real, err)
			}
			if size, err := tree.Size("apps/web/link.yaml"); err != nil || size != int64(len("kind: Deployment\n")) {
				t.Errorf("Size = %d, %v", size, err)
			}
			if _, err := tree.ReadFile("apps"); err == nil {
				t.Error("ReadFile of a directory succeeded")
			}
			if _, err := tree.ReadFile("nope.yaml"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("ReadFile of a missing file: %v, want ErrNotExist", err)
			}
		})
	}
}

func TestTreesStayInsideTheRoot(t *testing.T) {
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"secret": "stolen\n", "dir/secret": "stolen\n"})
	files := map[string]string{
		"ok.yaml":  "fine\n",
		"abs-link": "symlink:" + filepath.Join(outside, "secret"),
		"rel-link": "symlink:../../../../../../../../../.." + filepath.Join(outside, "secret"),
		"a/climb":  "symlink:../../secret",
		"dir-link": "symlink:" + filepath.Join(outside, "dir"),
		"loop/a":   "symlink:b",
		"loop/b":   "symlink:a",
	}
	for name, tree := range bothTrees(t, files) {
		t.Run(name, func(t *testing.T) {
			tests := []struct {
				path string
				want error
			}{
				{"../secret", ErrOutsideRoot},
				{"a/../../secret", ErrOutsideRoot},
				{"abs-link", ErrOutsideRoot},
				{"rel-link", ErrOutsideRoot},
				{"a/climb", ErrOutsideRoot},
				{"dir-link/secret", ErrOutsideRoot},
				{"loop/a", nil},
			}
			for _, tt := range tests {
				data, err := tree.ReadFile(tt.path)
				if err == nil || strings.Contains(string(data), "stolen") {
					t.Errorf("ReadFile(%q) = %q, %v; want an error", tt.path, data, err)
					continue
				}
				if tt.want != nil && !errors.Is(err, tt.want) {
					t.Errorf("ReadFile(%q) error %v, want %v", tt.path, err, tt.want)
				}
			}
			if tree.Exists("dir-link/secret") || tree.IsDir("dir-link") {
				t.Error("a symlink leaving the tree is visible")
			}
			if _, err := tree.ReadDir("dir-link"); err == nil {
				t.Error("ReadDir followed a symlink out of the tree")
			}
		})
	}
}

func TestResolveLinks(t *testing.T) {
	files := map[string]string{
		"shared/cm.yaml":       "kind: ConfigMap\n",
		"shared/tpl/a.yaml":    "kind: ConfigMap\n",
		"chart/templates":      "symlink:../hop",
		"hop":                  "symlink:shared/tpl",
		"chart/cm.yaml":        "symlink:../chain1",
		"chain1":               "symlink:chain2",
		"chain2":               "symlink:shared/cm.yaml",
		"plain.yaml":           "x\n",
		"dangling":             "symlink:gone/dir",
		"loop/a":               "symlink:b",
		"loop/b":               "symlink:a",
		"escape/out":           "symlink:../../x",
		"escape/keep/kept.txt": "x\n",
	}
	for name, tree := range bothTrees(t, files) {
		t.Run(name, func(t *testing.T) {
			tests := []struct {
				path      string
				wantReal  string
				wantLinks []string
				wantErr   error // nil: no error; errAny: some error
			}{
				{path: "plain.yaml", wantReal: "plain.yaml"},
				{path: "chart/cm.yaml", wantReal: "shared/cm.yaml", wantLinks: []string{"chart/cm.yaml", "chain1", "chain2"}},
				{path: "chart/templates/a.yaml", wantReal: "shared/tpl/a.yaml", wantLinks: []string{"chart/templates", "hop"}},
				// Missing: the path it would have, and the links on the way.
				{path: "chart/templates/new.yaml", wantReal: "shared/tpl/new.yaml", wantLinks: []string{"chart/templates", "hop"}, wantErr: fs.ErrNotExist},
				{path: "dangling/x.yaml", wantReal: "gone/dir/x.yaml", wantLinks: []string{"dangling"}, wantErr: fs.ErrNotExist},
				{path: "escape/out", wantLinks: []string{"escape/out"}, wantErr: ErrOutsideRoot},
			}
			for _, tt := range tests {
				real, links, err := tree.ResolveLinks(tt.path)
				if (tt.wantErr == nil) != (err == nil) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
					t.Errorf("ResolveLinks(%q) error %v, want %v", tt.path, err, tt.wantErr)
				}
				if real != tt.wantReal || !slices.Equal(links, tt.wantLinks) {
					t.Errorf("ResolveLinks(%q) = %q, %q; want %q, %q", tt.path, real, links, tt.wantReal, tt.wantLinks)
				}
			}
			// A loop ends after a bounded number of hops, with an error.
			_, links, err := tree.ResolveLinks("loop/a")
			if err == nil || len(links) > 20 {
				t.Errorf("ResolveLinks of a loop: %d links, error %v", len(links), err)
			}
			// Resolve keeps reporting nothing for a missing path.
			if real, err := tree.Resolve("chart/templates/new.yaml"); real != "" || err == nil {
				t.Errorf("Resolve of a missing path = %q, %v", real, err)
			}
		})
	}
}

func TestMaxFileSize(t *testing.T) {
	for name, tree := range bothTrees(t, map[string]string{"big.txt": strings.Repeat("x", 100), "small.txt": "x"}) {
		t.Run(name, func(t *testing.T) {
			tree.MaxFileSize = 10
			if _, err := tree.ReadFile("big.txt"); !errors.Is(err, ErrTooLarge) {
				t.Errorf("big file: %v, want ErrTooLarge", err)
			}
			if data, err := tree.ReadFile("small.txt"); err != nil || string(data) != "x" {
				t.Errorf("small file: %q, %v", data, err)
			}
		})
	}
}

func TestCacheStaysWithinItsBudget(t *testing.T) {
	files := map[string]string{}
	for i := 0; i < 20; i++ {
		files[fmt.Sprintf("f%02d.yaml", i)] = strings.Repeat("x", 1000)
	}
	for name, tree := range bothTrees(t, files) {
		t.Run(name, func(t *testing.T) {
			tree.MaxCacheBytes = 5500
			if err := tree.Prefetch(func(string, int64) bool { return true }); err != nil {
				t.Fatal(err)
			}
			for f, want := range files {
				if data, err := tree.ReadFile(f); err != nil || string(data) != want {
					t.Fatalf("%s: %d bytes, %v", f, len(data), err)
				}
			}
			if tree.cached > tree.MaxCacheBytes || len(tree.cache) != 5 {
				t.Errorf("cache holds %d files, %d bytes; want 5 files within %d bytes", len(tree.cache), tree.cached, tree.MaxCacheBytes)
			}
		})
	}
}

func TestChanged(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"same.yaml":    "same\n",
		"edited.yaml":  "before\n",
		"deleted.yaml": "gone soon\n",
		"link":         "symlink:same.yaml",
		"retarget":     "symlink:same.yaml",
	})
	runGit(t, dir, "init", "-q")
	first := commitAll(t, dir)

	if err := os.WriteFile(filepath.Join(dir, "edited.yaml"), []byte("after\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "deleted.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "retarget")); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"added/new.yaml": "new\n", "retarget": "symlink:edited.yaml"})
	want := []string{"added/new.yaml", "deleted.yaml", "edited.yaml", "retarget"}

	base, err := OpenGit(context.Background(), filepath.Join(dir, ".git"), first)
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	work, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := Changed(base, work); !slices.Equal(got, want) {
		t.Errorf("commit vs work tree: %v, want %v", got, want)
	}

	second := commitAll(t, dir)
	head, err := OpenGit(context.Background(), filepath.Join(dir, ".git"), second)
	if err != nil {
		t.Fatal(err)
	}
	defer head.Close()
	if got := Changed(base, head); !slices.Equal(got, want) {
		t.Errorf("commit vs commit: %v, want %v", got, want)
	}
	if got := Changed(head, work); len(got) != 0 {
		t.Errorf("work tree vs its own commit: %v, want nothing", got)
	}
	if head.Revision != second || work.Revision != "" {
		t.Errorf("revisions %q, %q", head.Revision, work.Revision)
	}
}
