package repofs

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCommits: a merge queue's group is read along first parents, each
// commit with the files it changes against its first parent — a merge's
// included.
func TestCommits(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@x", "-c", "init.defaultBranch=main"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	write := func(name, text string) {
		if err := writeFile(dir, name, text); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q")
	write("a.yaml", "a: 1\n")
	git("add", "-A")
	git("commit", "-qm", "base")
	base := git("rev-parse", "HEAD")
	git("checkout", "-qb", "feature")
	write("b file.yaml", "b: 1\n")
	git("add", "-A")
	git("commit", "-qm", "feature work")
	git("checkout", "-q", "main")
	git("merge", "-q", "--no-ff", "-m", "Merge pull request #7 from acme/feature", "feature")
	write("a.yaml", "a: 2\n")
	git("commit", "-qam", "Bump a (#8)")
	head := git("rev-parse", "HEAD")

	commits, err := Commits(context.Background(), dir+"/.git", base, head)
	if err != nil {
		t.Fatal(err)
	}
	if len(commits) != 2 || commits[0].Message != "Bump a (#8)" || !slices.Equal(commits[0].Files, []string{"a.yaml"}) ||
		!strings.HasPrefix(commits[1].Message, "Merge pull request #7") || !slices.Equal(commits[1].Files, []string{"b file.yaml"}) {
		t.Errorf("commits %+v", commits)
	}
}

func writeFile(dir, name, text string) error {
	return os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644)
}
