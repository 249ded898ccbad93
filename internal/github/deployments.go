package github

import (
	"context"
	"fmt"

	gh "github.com/google/go-github/v60/github"
)

// CreateDeployment records on GitHub that ref is being deployed to an
// environment, so the repository's environments page shows what runs where.
func (c *Client) CreateDeployment(ctx context.Context, repo Repo, ref, environment, description string) (int64, error) {
	d, _, err := c.REST.Repositories.CreateDeployment(ctx, repo.Owner, repo.Name, &gh.DeploymentRequest{
		Ref:              gh.String(ref),
		Environment:      gh.String(environment),
		Description:      gh.String(clip(description, 140)),
		AutoMerge:        gh.Bool(false),
		RequiredContexts: &[]string{}, // ferry's own checks already gated the merge
		Task:             gh.String("deploy"),
	})
	if err != nil {
		return 0, fmt.Errorf("create deployment of %s to %s: %w", short(ref), environment, err)
	}
	return d.GetID(), nil
}

// SetDeploymentStatus moves a deployment to in_progress, success or failure.
func (c *Client) SetDeploymentStatus(ctx context.Context, repo Repo, id int64, state, description string) error {
	_, _, err := c.REST.Repositories.CreateDeploymentStatus(ctx, repo.Owner, repo.Name, id, &gh.DeploymentStatusRequest{
		State:       gh.String(state),
		Description: gh.String(clip(description, 140)),
	})
	if err != nil {
		return fmt.Errorf("deployment %d status %s: %w", id, state, err)
	}
	return nil
}

// PullRequestForCommit finds the merged pull request a commit came from;
// nil when it was pushed directly.
func (c *Client) PullRequestForCommit(ctx context.Context, repo Repo, sha string) (*PullRequest, error) {
	prs, _, err := c.REST.PullRequests.ListPullRequestsWithCommit(ctx, repo.Owner, repo.Name, sha, &gh.ListOptions{PerPage: 10})
	if err != nil {
		return nil, fmt.Errorf("pull requests of %s: %w", short(sha), err)
	}
	for _, pr := range prs {
		if pr.GetMergeCommitSHA() == sha || pr.GetMerged() || pr.MergedAt != nil {
			return &PullRequest{Number: pr.GetNumber(), State: pr.GetState(), Merged: true, Author: pr.GetUser().GetLogin(),
				HeadSHA: pr.GetHead().GetSHA(), HeadRef: pr.GetHead().GetRef(), BaseRef: pr.GetBase().GetRef(), Title: pr.GetTitle(), HTMLURL: pr.GetHTMLURL(),
				MergedBy: pr.GetMergedBy().GetLogin()}, nil
		}
	}
	return nil, nil
}

// OpenPullRequest opens a pull request from head into base, or returns the
// one already open from head (never a second one).
func (c *Client) OpenPullRequest(ctx context.Context, repo Repo, head, base, title, body string) (number int, url string, err error) {
	existing, _, err := c.REST.PullRequests.List(ctx, repo.Owner, repo.Name, &gh.PullRequestListOptions{State: "open", Head: repo.Owner + ":" + head, Base: base})
	if err != nil {
		return 0, "", fmt.Errorf("list pull requests from %s: %w", head, err)
	}
	for _, pr := range existing {
		if pr.GetHead().GetRef() == head {
			return pr.GetNumber(), pr.GetHTMLURL(), nil
		}
	}
	pr, _, err := c.REST.PullRequests.Create(ctx, repo.Owner, repo.Name, &gh.NewPullRequest{
		Title: gh.String(title), Head: gh.String(head), Base: gh.String(base), Body: gh.String(body),
	})
	if err != nil {
		return 0, "", fmt.Errorf("open pull request from %s: %w", head, err)
	}
	return pr.GetNumber(), pr.GetHTMLURL(), nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// CreateIssue opens an issue and returns its number.
func (c *Client) CreateIssue(ctx context.Context, repo Repo, title, body string) (int, error) {
	is, _, err := c.REST.Issues.Create(ctx, repo.Owner, repo.Name, &gh.IssueRequest{Title: gh.String(title), Body: gh.String(body)})
	if err != nil {
		return 0, fmt.Errorf("create issue in %s: %w", repo, err)
	}
	return is.GetNumber(), nil
}

// EditIssue replaces an issue's body and sets its state (open or closed).
func (c *Client) EditIssue(ctx context.Context, repo Repo, number int, body, state string) error {
	if _, _, err := c.REST.Issues.Edit(ctx, repo.Owner, repo.Name, number, &gh.IssueRequest{Body: gh.String(body), State: gh.String(state)}); err != nil {
		return fmt.Errorf("edit issue %s#%d: %w", repo, number, err)
	}
	return nil
}
