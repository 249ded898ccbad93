package repofs

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferry-gitops/ferry/internal/gitcmd"
)

// maxCommits bounds the commits Commits reads: a merge queue's group holds
// a few pull requests, not thousands of commits.
const maxCommits = 100

// Commit is one commit on a first-parent line, and the files it changes
// against its first parent.
type Commit struct {
	SHA     string
	Message string
	Files   []string
}

// Commits lists the commits from base (excluded) to head, newest first,
// following first parents only: a merge queue's group is one commit per
// pull request (a merge, a squash or a rebase's last), and each changes,
// against its first parent, what its pull request changes.
func Commits(ctx context.Context, gitDir, base, head string) ([]Commit, error) {
	opts := gitcmd.Options{Dir: gitDir}
	out, err := gitcmd.Output(ctx, opts, "rev-list", "--first-parent", fmt.Sprintf("--max-count=%d", maxCommits), "--end-of-options", base+".."+head)
	if err != nil {
		return nil, fmt.Errorf("commits %s..%s: %w", base, head, err)
	}
	var commits []Commit
	for _, sha := range strings.Fields(out) {
		msg, err := gitcmd.Output(ctx, opts, "show", "-s", "--format=%B", "--end-of-options", sha)
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", sha, err)
		}
		files, err := gitcmd.Output(ctx, opts, "diff", "--name-only", "--no-renames", "--end-of-options", sha+"^1", sha)
		if err != nil {
			return nil, fmt.Errorf("files of commit %s: %w", sha, err)
		}
		c := Commit{SHA: sha, Message: strings.TrimSpace(msg)}
		for _, f := range strings.Split(files, "\n") {
			if f != "" {
				c.Files = append(c.Files, f)
			}
		}
		commits = append(commits, c)
	}
	return commits, nil
}
