// Package job turns queued work into ferry's actions. Each kind of job has a
// compact, secret-free argument record (built by the webhook package from an
// event) and a handler: preview a pull request (render → diff → report), and
// later sync, policy and chat-ops.
package job

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ferry-gitops/ferry/internal/queue"
)

// Kinds of job.
const (
	KindPreview = "pull_request.preview"
	// KindRefresh re-judges every open pull request into a branch.
	KindRefresh = "branch.refresh"
)

// PullRequest is what a preview needs to know about a pull request. It is
// stored in the queue, so it holds identifiers only: no titles, bodies or
// anything a user typed.
type PullRequest struct {
	InstallationID int64  `json:"installation_id"`
	Repo           string `json:"repo"` // owner/name
	CloneURL       string `json:"clone_url"`
	HTMLURL        string `json:"html_url"`
	Number         int    `json:"number"`
	HeadSHA        string `json:"head_sha"`
	BaseRef        string `json:"base_ref"`
	Author         string `json:"author"`
	// Live also diffs the head against the live cluster (/ferry diff --live).
	Live bool `json:"live,omitempty"`
	// DefaultBranch is the repository's default branch, whose environment
	// definitions say where a live diff reads; empty means BaseRef.
	DefaultBranch string `json:"default_branch,omitempty"`
}

// Key serializes and coalesces work per pull request.
func (p PullRequest) Key() string { return fmt.Sprintf("%s#%d", p.Repo, p.Number) }

// PreviewSpec is the queue entry that previews args; a newer one supersedes
// older queued previews of the same pull request.
func PreviewSpec(args PullRequest) (queue.Spec, error) {
	if args.Repo == "" || args.Number == 0 || args.HeadSHA == "" || args.InstallationID == 0 {
		return queue.Spec{}, fmt.Errorf("pull request event lacks repository, number, head sha or installation")
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return queue.Spec{}, err
	}
	return queue.Spec{Kind: KindPreview, Key: args.Key(), Args: raw, Supersede: true}, nil
}

// Refresh names a branch whose open pull requests must be judged again.
type Refresh struct {
	InstallationID int64  `json:"installation_id"`
	Repo           string `json:"repo"`
	CloneURL       string `json:"clone_url"`
	HTMLURL        string `json:"html_url"`
	BaseRef        string `json:"base_ref"`
}

// RefreshSpec is the queue entry for a Refresh; one per branch is enough.
func RefreshSpec(r Refresh) (queue.Spec, error) {
	if r.Repo == "" || r.BaseRef == "" || r.InstallationID == 0 {
		return queue.Spec{}, fmt.Errorf("refresh lacks repository, branch or installation")
	}
	raw, err := json.Marshal(r)
	if err != nil {
		return queue.Spec{}, err
	}
	return queue.Spec{Kind: KindRefresh, Key: r.Repo + "@" + r.BaseRef, Args: raw, Supersede: true}, nil
}

// JudgesPullRequests reports whether a file is part of what judges pull
// requests (.ferry.yaml, .ferry/policies): a change to it on a base branch
// re-evaluates the pull requests into that branch.
func JudgesPullRequests(path string) bool {
	return path == ".ferry.yaml" || strings.HasPrefix(path, ".ferry/policies/")
}
