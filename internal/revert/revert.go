// Package revert undoes a merge in Git, the GitOps way: it makes a branch
// `ferry/revert-<short-sha>` holding `git revert` of the merge commit on top
// of the target branch, so a pull request can put the previous state back
// through the same review and sync as any change.
package revert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrConflict means the revert does not apply cleanly on the branch's tip.
var ErrConflict = errors.New("the revert conflicts with later changes")

// Author is who the revert commit is attributed to.
type Author struct {
	Name, Email string
}

// Result is the revert commit and the branch name it should be pushed to.
type Result struct {
	Branch string // ferry/revert-<short-sha>
	Commit string
}

// Branch is the branch name ferry uses for reverting commit.
func Branch(commit string) string {
	if len(commit) > 12 {
		commit = commit[:12]
	}
	return "ferry/revert-" + commit
}

// Make creates the revert commit of commit on top of tip in the repository
// at gitDir (a bare mirror is fine: the work happens in a temporary
// worktree that is removed afterwards). A merge commit is reverted against
// its first parent (`-m 1`), a squash or plain commit as is.
func Make(ctx context.Context, gitDir, tip, commit string, author Author, message string) (*Result, error) {
	parents, err := git(ctx, gitDir, nil, "rev-list", "--parents", "-n", "1", commit)
	if err != nil {
		return nil, fmt.Errorf("revert %s: %w", short(commit), err)
	}
	tmp, err := os.MkdirTemp("", "ferry-revert-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	wt := filepath.Join(tmp, "wt")
	if _, err := git(ctx, gitDir, nil, "worktree", "add", "--quiet", "--detach", wt, tip); err != nil {
		return nil, fmt.Errorf("revert %s: %w", short(commit), err)
	}
	defer git(context.WithoutCancel(ctx), gitDir, nil, "worktree", "remove", "--force", wt)

	env := []string{
		"GIT_AUTHOR_NAME=" + author.Name, "GIT_AUTHOR_EMAIL=" + author.Email,
		"GIT_COMMITTER_NAME=" + author.Name, "GIT_COMMITTER_EMAIL=" + author.Email,
	}
	args := []string{"revert", "--no-edit"}
	if len(strings.Fields(parents)) > 2 {
		args = append(args, "-m", "1")
	}
	if _, err := git(ctx, wt, env, append(args, commit)...); err != nil {
		_, _ = git(ctx, wt, env, "revert", "--abort")
		if strings.Contains(err.Error(), "conflict") || strings.Contains(err.Error(), "could not revert") {
			return nil, fmt.Errorf("revert %s onto %s: %w", short(commit), short(tip), ErrConflict)
		}
		return nil, fmt.Errorf("revert %s: %w", short(commit), err)
	}
	if message != "" {
		if _, err := git(ctx, wt, env, "commit", "--amend", "--quiet", "-m", message); err != nil {
			return nil, fmt.Errorf("revert %s: reword: %w", short(commit), err)
		}
	}
	head, err := git(ctx, wt, nil, "rev-parse", "HEAD")
	if err != nil {
		return nil, err
	}
	return &Result{Branch: Branch(commit), Commit: strings.TrimSpace(head)}, nil
}

func git(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_EDITOR=true"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()+" "+stdout.String()))
	}
	return stdout.String(), nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// Restore makes a commit on top of tip whose tree is exactly rev's: the
// rollback of everything since rev, as one reviewable change.
func Restore(ctx context.Context, gitDir, tip, rev string, author Author, message string) (string, error) {
	env := []string{
		"GIT_AUTHOR_NAME=" + author.Name, "GIT_AUTHOR_EMAIL=" + author.Email,
		"GIT_COMMITTER_NAME=" + author.Name, "GIT_COMMITTER_EMAIL=" + author.Email,
	}
	tipCommit, err := git(ctx, gitDir, nil, "rev-parse", "--verify", tip+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("restore %s: %w", short(rev), err)
	}
	out, err := git(ctx, gitDir, env, "commit-tree", rev+"^{tree}", "-p", strings.TrimSpace(tipCommit), "-m", message)
	if err != nil {
		return "", fmt.Errorf("restore %s: %w", short(rev), err)
	}
	return strings.TrimSpace(out), nil
}
