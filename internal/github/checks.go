package github

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	gh "github.com/google/go-github/v60/github"
)

// GitHub's limits for one check-run request.
const (
	maxAnnotationsPerRequest = 50
	maxCheckOutputChars      = 65535
)

// Annotation points at a line of a file in a check run.
type Annotation struct {
	Path      string
	StartLine int
	EndLine   int
	Level     string // notice, warning or failure
	Title     string
	Message   string
}

// CheckOutput is what a check run shows.
type CheckOutput struct {
	Title       string
	Summary     string
	Text        string
	Annotations []Annotation
}

// StartCheckRun creates an in-progress check run on sha and returns its id.
func (c *Client) StartCheckRun(ctx context.Context, repo Repo, name, sha, title string) (int64, error) {
	now := gh.Timestamp{Time: time.Now()}
	run, _, err := c.REST.Checks.CreateCheckRun(ctx, repo.Owner, repo.Name, gh.CreateCheckRunOptions{
		Name:      name,
		HeadSHA:   sha,
		Status:    gh.String("in_progress"),
		StartedAt: &now,
		Output:    &gh.CheckRunOutput{Title: gh.String(title), Summary: gh.String(title)},
	})
	if err != nil {
		return 0, fmt.Errorf("create check run %s on %s@%s: %w", name, repo, sha, err)
	}
	return run.GetID(), nil
}

// CheckRunIDs returns, by name, the latest check run the App made on sha
// (every App's when the client is not an App installation's). A job that
// lost GitHub's answer to a creation (a 5xx after the run was made, a
// replica killed during the call) finds the run there instead of making
// a second one.
func (c *Client) CheckRunIDs(ctx context.Context, repo Repo, sha string) (map[string]int64, error) {
	opts := &gh.ListCheckRunsOptions{Filter: gh.String("latest"), ListOptions: gh.ListOptions{PerPage: 100}}
	if c.appID != 0 {
		opts.AppID = gh.Int64(c.appID)
	}
	ids := map[string]int64{}
	for {
		page, resp, err := c.REST.Checks.ListCheckRunsForRef(ctx, repo.Owner, repo.Name, sha, opts)
		if err != nil {
			return nil, fmt.Errorf("list check runs on %s@%s: %w", repo, sha, err)
		}
		for _, run := range page.CheckRuns {
			if _, seen := ids[run.GetName()]; !seen { // newest first
				ids[run.GetName()] = run.GetID()
			}
		}
		if resp.NextPage == 0 {
			return ids, nil
		}
		opts.Page = resp.NextPage
	}
}

// CompleteCheckRun sets the conclusion and output of a check run. GitHub
// takes at most 50 annotations a request, so the rest follow in updates.
func (c *Client) CompleteCheckRun(ctx context.Context, repo Repo, id int64, name, conclusion string, out CheckOutput) error {
	batches := batchAnnotations(out.Annotations)
	output := func(batch []*gh.CheckRunAnnotation) *gh.CheckRunOutput {
		return &gh.CheckRunOutput{
			Title:       gh.String(out.Title),
			Summary:     gh.String(clip(out.Summary, maxCheckOutputChars)),
			Text:        optional(clip(out.Text, maxCheckOutputChars)),
			Annotations: batch,
		}
	}
	// Annotation batches go first while the run is in progress; the final
	// update carries the last batch and the conclusion.
	for _, batch := range batches[:len(batches)-1] {
		if _, _, err := c.REST.Checks.UpdateCheckRun(ctx, repo.Owner, repo.Name, id, gh.UpdateCheckRunOptions{
			Name:   name,
			Output: output(batch),
		}); err != nil {
			return fmt.Errorf("annotate check run %d: %w", id, err)
		}
	}
	now := gh.Timestamp{Time: time.Now()}
	_, _, err := c.REST.Checks.UpdateCheckRun(ctx, repo.Owner, repo.Name, id, gh.UpdateCheckRunOptions{
		Name:        name,
		Status:      gh.String("completed"),
		Conclusion:  gh.String(conclusion),
		CompletedAt: &now,
		Output:      output(batches[len(batches)-1]),
	})
	if err != nil {
		return fmt.Errorf("complete check run %d: %w", id, err)
	}
	return nil
}

func batchAnnotations(in []Annotation) [][]*gh.CheckRunAnnotation {
	batches := [][]*gh.CheckRunAnnotation{nil}
	for _, a := range in {
		last := len(batches) - 1
		if len(batches[last]) == maxAnnotationsPerRequest {
			batches = append(batches, nil)
			last++
		}
		end := a.EndLine
		if end < a.StartLine {
			end = a.StartLine
		}
		start := max(a.StartLine, 1)
		end = max(end, start)
		batches[last] = append(batches[last], &gh.CheckRunAnnotation{
			Path:            gh.String(a.Path),
			StartLine:       gh.Int(start),
			EndLine:         gh.Int(end),
			AnnotationLevel: gh.String(a.Level),
			Title:           optional(a.Title),
			Message:         gh.String(clip(a.Message, 64*1024-1)),
		})
	}
	return batches
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// clip shortens s to at most n bytes at a line boundary, saying so.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const note = "\n\n… (truncated)"
	cut := n - len(note)
	for cut > 0 && s[cut-1] != '\n' {
		cut--
	}
	if cut == 0 {
		// One long line: cut between runes, or the broken rune would go
		// out as U+FFFD (3 bytes) and push the text over the limit.
		cut = n - len(note)
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
	}
	return s[:cut] + note
}
