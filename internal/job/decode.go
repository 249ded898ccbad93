package job

import (
	"encoding/json"
	"fmt"

	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/queue"
)

// args is a job argument record; each names the repository it is about.
type args interface {
	repoName() string
}

func (p PullRequest) repoName() string     { return p.Repo }
func (r Refresh) repoName() string         { return r.Repo }
func (p Push) repoName() string            { return p.Repo }
func (a SyncArgs) repoName() string        { return a.Repo }
func (c CommentCommands) repoName() string { return c.Repo }

// decode reads a job's arguments and the repository they name. Arguments
// that cannot be read now never will be, so the error is permanent.
func decode[T args](j queue.Job) (T, github.Repo, error) {
	var a T
	if err := json.Unmarshal(j.Args, &a); err != nil {
		return a, github.Repo{}, queue.Permanent(fmt.Errorf("%s job %d args: %w", j.Kind, j.ID, err))
	}
	repo, err := github.ParseRepo(a.repoName())
	if err != nil {
		return a, github.Repo{}, queue.Permanent(fmt.Errorf("%s job %d: %w", j.Kind, j.ID, err))
	}
	return a, repo, nil
}
