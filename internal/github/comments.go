package github

import (
	"context"
	"fmt"
	"strings"

	gh "github.com/google/go-github/v60/github"
)

// Repo names a repository.
type Repo struct {
	Owner, Name string
}

func (r Repo) String() string { return r.Owner + "/" + r.Name }

// ParseRepo splits "owner/name".
func ParseRepo(full string) (Repo, error) {
	owner, name, ok := strings.Cut(full, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return Repo{}, fmt.Errorf("repository %q is not owner/name", full)
	}
	return Repo{Owner: owner, Name: name}, nil
}

// UpsertComment keeps exactly one comment carrying marker on an issue or pull
// request: it edits the comment whose id the caller remembered, else the
// first comment by a bot (the App) that carries the marker, else creates
// one. Searching by marker is what keeps a retried job from posting a second
// comment when GitHub did the first POST but answered 5xx.
func (c *Client) UpsertComment(ctx context.Context, repo Repo, number int, knownID int64, marker, body string) (int64, error) {
	if !strings.Contains(body, marker) {
		body = marker + "\n" + body
	}
	if knownID != 0 {
		cm, resp, err := c.REST.Issues.EditComment(ctx, repo.Owner, repo.Name, knownID, &gh.IssueComment{Body: &body})
		if err == nil {
			return cm.GetID(), nil
		}
		// Deleted by a human: fall through and find or create another.
		if resp == nil || resp.StatusCode != 404 {
			return 0, fmt.Errorf("edit comment %d on %s#%d: %w", knownID, repo, number, err)
		}
	}
	existing, err := c.findComment(ctx, repo, number, marker)
	if err != nil {
		return 0, err
	}
	if existing != 0 {
		cm, _, err := c.REST.Issues.EditComment(ctx, repo.Owner, repo.Name, existing, &gh.IssueComment{Body: &body})
		if err != nil {
			return 0, fmt.Errorf("edit comment %d on %s#%d: %w", existing, repo, number, err)
		}
		return cm.GetID(), nil
	}
	cm, _, err := c.REST.Issues.CreateComment(ctx, repo.Owner, repo.Name, number, &gh.IssueComment{Body: &body})
	if err != nil {
		return 0, fmt.Errorf("create comment on %s#%d: %w", repo, number, err)
	}
	return cm.GetID(), nil
}

// CreateComment posts a new comment (for one-off replies).
func (c *Client) CreateComment(ctx context.Context, repo Repo, number int, body string) (int64, error) {
	cm, _, err := c.REST.Issues.CreateComment(ctx, repo.Owner, repo.Name, number, &gh.IssueComment{Body: &body})
	if err != nil {
		return 0, fmt.Errorf("create comment on %s#%d: %w", repo, number, err)
	}
	return cm.GetID(), nil
}

func (c *Client) findComment(ctx context.Context, repo Repo, number int, marker string) (int64, error) {
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		page, resp, err := c.REST.Issues.ListComments(ctx, repo.Owner, repo.Name, number, opts)
		if err != nil {
			return 0, fmt.Errorf("list comments on %s#%d: %w", repo, number, err)
		}
		for _, cm := range page {
			// Only a bot's comment (the App's own) is ferry's: a person's
			// comment that carries the marker, quoted or pasted at the
			// start, must never be overwritten.
			if cm.GetUser().GetType() == "Bot" && strings.Contains(cm.GetBody(), marker) {
				return cm.GetID(), nil
			}
		}
		if resp.NextPage == 0 {
			return 0, nil
		}
		opts.Page = resp.NextPage
	}
}

// React adds a reaction (eyes, rocket, confused, ...) to an issue comment.
func (c *Client) React(ctx context.Context, repo Repo, commentID int64, content string) error {
	if _, _, err := c.REST.Reactions.CreateIssueCommentReaction(ctx, repo.Owner, repo.Name, commentID, content); err != nil {
		return fmt.Errorf("react %s to comment %d: %w", content, commentID, err)
	}
	return nil
}
