// Package revert undoes a merge in Git, the GitOps way: it makes a branch
// `ferry/revert-<short-sha>` holding `git revert` of the merge commit on top
// of the target branch, so a pull request can put the previous state back
// through the same review and sync as any change.
package revert

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferry-gitops/ferry/internal/gitcmd"
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
	repo := gitcmd.Options{Dir: gitDir}
	parents, err := gitcmd.Output(ctx, repo, "rev-list", "--parents", "-n", "1", commit)
	if err != nil {
		return nil, fmt.Errorf("revert %s: %w", short(commit), err)
	}
	tmp, err := os.MkdirTemp("", "ferry-revert-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	wt := filepath.Join(tmp, "wt")
	if err := gitcmd.Run(ctx, repo, "worktree", "add", "--quiet", "--detach", wt, tip); err != nil {
		return nil, fmt.Errorf("revert %s: %w", short(commit), err)
	}
	defer gitcmd.Run(context.WithoutCancel(ctx), repo, "worktree", "remove", "--force", wt)

	work := gitcmd.Options{Dir: wt, Env: author.env()}
	args := []string{"revert", "--no-edit"}
	if len(strings.Fields(parents)) > 2 {
		args = append(args, "-m", "1")
	}
	if _, err := gitcmd.Output(ctx, work, append(args, commit)...); err != nil {
		_ = gitcmd.Run(ctx, work, "revert", "--abort")
		if strings.Contains(err.Error(), "conflict") || strings.Contains(err.Error(), "could not revert") {
			return nil, fmt.Errorf("revert %s onto %s: %w", short(commit), short(tip), ErrConflict)
		}
		return nil, fmt.Errorf("revert %s: %w", short(commit), err)
	}
	if message != "" {
		if _, err := gitcmd.Output(ctx, work, "commit", "--amend", "--quiet", "-m", message); err != nil {
			return nil, fmt.Errorf("revert %s: reword: %w", short(commit), err)
		}
	}
	head, err := gitcmd.Output(ctx, work, "rev-parse", "HEAD")
	if err != nil {
		return nil, err
	}
	return &Result{Branch: Branch(commit), Commit: strings.TrimSpace(head)}, nil
}

// env makes the author the commits' author and committer.
func (a Author) env() []string {
	return []string{
		"GIT_AUTHOR_NAME=" + a.Name, "GIT_AUTHOR_EMAIL=" + a.Email,
		"GIT_COMMITTER_NAME=" + a.Name, "GIT_COMMITTER_EMAIL=" + a.Email,
	}
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
	tipCommit, err := gitcmd.Output(ctx, gitcmd.Options{Dir: gitDir}, "rev-parse", "--verify", tip+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("restore %s: %w", short(rev), err)
	}
	out, err := gitcmd.Output(ctx, gitcmd.Options{Dir: gitDir, Env: author.env()},
		"commit-tree", rev+"^{tree}", "-p", strings.TrimSpace(tipCommit), "-m", message)
	if err != nil {
		return "", fmt.Errorf("restore %s: %w", short(rev), err)
	}
	return strings.TrimSpace(out), nil
}
