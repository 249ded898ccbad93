package github

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// PullRequest is what ferry needs to know about a pull request at job time.
type PullRequest struct {
	Number   int
	State    string
	Draft    bool
	Merged   bool
	Author   string
	HeadSHA  string
	HeadRef  string
	BaseRef  string
	Labels   []string
	Title    string
	HTMLURL  string
	MergedBy string
	// MergeCommit is the commit the merge made on the base branch.
	MergeCommit string
}

// GetPullRequest reads a pull request. A 404 right after a webhook usually
// means GitHub's replicas have not caught up: callers retry (IsNotFound).
func (c *Client) GetPullRequest(ctx context.Context, repo Repo, number int) (*PullRequest, error) {
	pr, _, err := c.REST.PullRequests.Get(ctx, repo.Owner, repo.Name, number)
	if err != nil {
		return nil, fmt.Errorf("get %s#%d: %w", repo, number, err)
	}
	out := &PullRequest{
		Number: pr.GetNumber(), State: pr.GetState(), Draft: pr.GetDraft(), Merged: pr.GetMerged(),
		Author: pr.GetUser().GetLogin(), HeadSHA: pr.GetHead().GetSHA(), HeadRef: pr.GetHead().GetRef(), BaseRef: pr.GetBase().GetRef(),
		Title: pr.GetTitle(), HTMLURL: pr.GetHTMLURL(), MergedBy: pr.GetMergedBy().GetLogin(),
		MergeCommit: pr.GetMergeCommitSHA(),
	}
	for _, l := range pr.Labels {
		out.Labels = append(out.Labels, l.GetName())
	}
	return out, nil
}

// OpenPullRequests lists the open pull requests into base.
func (c *Client) OpenPullRequests(ctx context.Context, repo Repo, base string) ([]PullRequest, error) {
	opts := &gh.PullRequestListOptions{State: "open", Base: base, ListOptions: gh.ListOptions{PerPage: 100}}
	var out []PullRequest
	for {
		page, resp, err := c.REST.PullRequests.List(ctx, repo.Owner, repo.Name, opts)
		if err != nil {
			return nil, fmt.Errorf("list pull requests of %s into %s: %w", repo, base, err)
		}
		for _, pr := range page {
			out = append(out, PullRequest{Number: pr.GetNumber(), State: pr.GetState(), Draft: pr.GetDraft(),
				Author: pr.GetUser().GetLogin(), HeadSHA: pr.GetHead().GetSHA(), BaseRef: pr.GetBase().GetRef()})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// Review is one reviewer's latest review.
type Review struct {
	User        string
	State       string // APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
	CommitID    string
	SubmittedAt time.Time
}

// LatestReviews returns each reviewer's latest review that carries a
// verdict, as GitHub's own approval count does: a later plain comment does
// not withdraw an approval, a dismissal or a request for changes does.
func (c *Client) LatestReviews(ctx context.Context, repo Repo, number int) ([]Review, error) {
	opts := &gh.ListOptions{PerPage: 100}
	latest := map[string]Review{}
	for {
		page, resp, err := c.REST.PullRequests.ListReviews(ctx, repo.Owner, repo.Name, number, opts)
		if err != nil {
			return nil, fmt.Errorf("list reviews of %s#%d: %w", repo, number, err)
		}
		for _, r := range page {
			rv := Review{User: r.GetUser().GetLogin(), State: r.GetState(), CommitID: r.GetCommitID(), SubmittedAt: r.GetSubmittedAt().Time}
			prev, seen := latest[rv.User]
			if rv.State == "COMMENTED" && seen {
				continue
			}
			if !seen || !rv.SubmittedAt.Before(prev.SubmittedAt) {
				latest[rv.User] = rv
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	out := make([]Review, 0, len(latest))
	for _, r := range latest {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].User < out[j].User })
	return out, nil
}

// Permission returns a user's permission on the repository: admin,
// maintain, write, triage, read or none.
func (c *Client) Permission(ctx context.Context, repo Repo, user string) (string, error) {
	p, resp, err := c.REST.Repositories.GetPermissionLevel(ctx, repo.Owner, repo.Name, user)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return "none", nil
		}
		return "", fmt.Errorf("permission of %s on %s: %w", user, repo, err)
	}
	// go-github v60 does not decode role_name; permission folds maintain
	// into write and triage into read, which is what approval rules need.
	return p.GetPermission(), nil
}

// TeamMember reports whether user is an active member of the org's team.
func (c *Client) TeamMember(ctx context.Context, org, team, user string) (bool, error) {
	m, resp, err := c.REST.Teams.GetTeamMembershipBySlug(ctx, org, team, user)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return false, nil
		}
		return false, fmt.Errorf("membership of %s in %s/%s: %w", user, org, team, err)
	}
	return m.GetState() == "active", nil
}
