package work

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/ferry-gitops/ferry/internal/queue"
)

// KindMergeGroup judges a merge queue's group: the commit that will land.
const KindMergeGroup = "merge_group.check"

// QueueBranchPrefix is the prefix of the temporary branches GitHub's merge
// queue builds groups on: gh-readonly-queue/<base>/pr-<n>-<sha>.
const QueueBranchPrefix = "gh-readonly-queue/"

// MergeGroup is a merge queue's group at one head commit, on the base
// branch's commit base.
type MergeGroup struct {
	Repo
	HeadSHA string `json:"head_sha"`
	// HeadRef is the group's branch, without refs/heads/.
	HeadRef string `json:"head_ref"`
	BaseSHA string `json:"base_sha"`
	// BaseRef is the branch the group merges into, without refs/heads/.
	BaseRef string `json:"base_ref"`
	// Message is the group's head commit message, which names the pull
	// requests merged into it.
	Message string `json:"message,omitempty"`
	// Destroyed: GitHub dropped the group (merged, dequeued, invalidated);
	// its queued check is superseded and nothing more is done.
	Destroyed bool `json:"destroyed,omitempty"`
}

// Spec queues the group's check; a newer event of the same group (or its
// destruction) supersedes a queued one.
func (g MergeGroup) Spec() (queue.Spec, error) {
	if g.HeadSHA == "" || g.HeadRef == "" || g.BaseSHA == "" {
		return queue.Spec{}, errors.New("merge_group event lacks a head sha, head ref or base sha")
	}
	return spec(KindMergeGroup, g.FullName+"@"+g.HeadRef, g, true)
}

// pullNumbers finds "#123" in commit messages ("Merge pull request #123
// from …", a squash's "Title (#123)").
var pullNumbers = regexp.MustCompile(`#(\d+)\b`)

// queuePull finds the pull request a queue branch was built for.
var queuePull = regexp.MustCompile(`/pr-(\d+)-[0-9a-f]+$`)

// PullRequests are the numbers of the pull requests in the group: the one
// its branch names, then those its head commit's message names, each once.
func (g MergeGroup) PullRequests(messages ...string) []int {
	var out []int
	seen := map[int]bool{}
	add := func(s string) {
		if n, err := strconv.Atoi(s); err == nil && n > 0 && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if m := queuePull.FindStringSubmatch(g.HeadRef); m != nil {
		add(m[1])
	}
	for _, msg := range append([]string{g.Message}, messages...) {
		for _, m := range pullNumbers.FindAllStringSubmatch(msg, -1) {
			add(m[1])
		}
	}
	return out
}

// IsQueueBranch reports whether branch is a merge queue's temporary one.
func IsQueueBranch(branch string) bool { return strings.HasPrefix(branch, QueueBranchPrefix) }
