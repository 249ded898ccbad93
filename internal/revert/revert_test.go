package revert

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@ferry.invalid"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// repo has main with replicas: 3, and a feature branch setting replicas: 5,
// merged into main with a merge commit and, separately, squashed.
func repo(t *testing.T) (bare, merge, squash string) {
	dir := t.TempDir()
	run(t, dir, "init", "-q", "-b", "main")
	write(t, dir, "deploy.yaml", "replicas: 3\nimage: v1\n")
	run(t, dir, "add", "-A")
	run(t, dir, "commit", "-qm", "base")
	run(t, dir, "checkout", "-qb", "feature")
	write(t, dir, "deploy.yaml", "replicas: 5\nimage: v1\n")
	run(t, dir, "commit", "-qam", "scale to 5")
	run(t, dir, "checkout", "-q", "main")
	run(t, dir, "merge", "--no-ff", "-qm", "Merge pull request #1", "feature")
	merge = run(t, dir, "rev-parse", "HEAD")
	run(t, dir, "checkout", "-qb", "squashed", "main~1")
	write(t, dir, "deploy.yaml", "replicas: 5\nimage: v1\n")
	run(t, dir, "commit", "-qam", "scale to 5 (#2)")
	squash = run(t, dir, "rev-parse", "HEAD")
	bare = filepath.Join(t.TempDir(), "mirror.git")
	run(t, dir, "clone", "-q", "--bare", dir, bare)
	return bare, merge, squash
}

func TestMake(t *testing.T) {
	bare, merge, squash := repo(t)
	tests := []struct {
		name, tip, commit string
	}{
		{"merge commit (-m 1)", "main", merge},
		{"squash commit", "squashed", squash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Make(context.Background(), bare, tt.tip, tt.commit, Author{"ferry", "ferry@ferry.invalid"}, "Revert: rollout failed")
			if err != nil {
				t.Fatal(err)
			}
			if res.Branch != "ferry/revert-"+tt.commit[:12] {
				t.Errorf("branch %q", res.Branch)
			}
			if got := run(t, bare, "show", res.Commit+":deploy.yaml"); got != "replicas: 3\nimage: v1" {
				t.Errorf("reverted content %q, want replicas 3", got)
			}
			if got := run(t, bare, "log", "-1", "--format=%an|%s", res.Commit); got != "ferry|Revert: rollout failed" {
				t.Errorf("commit %q", got)
			}
			if parent := run(t, bare, "rev-parse", res.Commit+"^"); parent != run(t, bare, "rev-parse", tt.tip) {
				t.Errorf("revert is not on top of %s", tt.tip)
			}
			if wts := run(t, bare, "worktree", "list"); strings.Count(wts, "\n") != 0 {
				t.Errorf("temporary worktree left behind:\n%s", wts)
			}
		})
	}
}

func TestMakeConflict(t *testing.T) {
	bare, merge, _ := repo(t)
	// A later change on main touches the same line: the revert cannot apply.
	dir := t.TempDir()
	run(t, dir, "clone", "-q", bare, ".")
	run(t, dir, "checkout", "-q", "-B", "main", "origin/main")
	write(t, dir, "deploy.yaml", "replicas: 7\nimage: v1\n")
	run(t, dir, "commit", "-qam", "scale to 7")
	run(t, dir, "push", "-q", "origin", "main")
	_, err := Make(context.Background(), bare, "main", merge, Author{"ferry", "ferry@ferry.invalid"}, "")
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	if wts := run(t, bare, "worktree", "list"); strings.Count(wts, "\n") != 0 {
		t.Errorf("worktree left behind after a conflict:\n%s", wts)
	}
}

func TestRestore(t *testing.T) {
	bare, merge, _ := repo(t)
	base := run(t, bare, "rev-parse", merge+"^1")
	commit, err := Restore(context.Background(), bare, "main", base, Author{"ferry", "ferry@ferry.invalid"}, "Roll back to base")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := run(t, bare, "rev-parse", commit+"^{tree}"), run(t, bare, "rev-parse", base+"^{tree}"); got != want {
		t.Errorf("restored tree %s, want %s", got, want)
	}
	if parent := run(t, bare, "rev-parse", commit+"^"); parent != run(t, bare, "rev-parse", "main") {
		t.Errorf("restore is not on top of main")
	}
}
