package webhook

import (
	"fmt"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/ferry-gitops/ferry/internal/chatops"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/work"
)

// translation is what a verified event means to ferry.
type translation struct {
	action, repo string
	installation int64
	jobs         []queue.Spec
}

// translate parses an event once and returns the jobs it calls for. An event
// ferry does not act on yields no jobs and no error.
func translate(event string, payload []byte) (translation, error) {
	parsed, err := gh.ParseWebHook(event, payload)
	if err != nil {
		return translation{}, fmt.Errorf("parse %s event: %w", event, err)
	}
	var t translation
	if v, ok := parsed.(interface{ GetAction() string }); ok {
		t.action = v.GetAction()
	}
	if v, ok := parsed.(interface{ GetRepo() *gh.Repository }); ok {
		t.repo = v.GetRepo().GetFullName()
	}
	if v, ok := parsed.(interface{ GetInstallation() *gh.Installation }); ok {
		t.installation = v.GetInstallation().GetID()
	}
	switch ev := parsed.(type) {
	case *gh.PullRequestEvent:
		t.jobs, err = pullRequestJobs(ev)
	case *gh.CheckRunEvent:
		t.jobs, err = checkRunJobs(ev)
	case *gh.PullRequestReviewEvent:
		t.jobs, err = reviewJobs(ev)
	case *gh.PushEvent:
		t.jobs, err = pushJobs(ev)
	case *gh.IssueCommentEvent:
		t.jobs, err = commentJobs(ev)
	case *gh.MergeGroupEvent:
		t.jobs, err = mergeGroupJobs(ev)
	}
	return t, err
}

// mergeGroupJobs checks a merge queue's group on checks_requested; on
// destroyed, the same group's queued check is superseded, and the job that
// supersedes it does nothing.
func mergeGroupJobs(ev *gh.MergeGroupEvent) ([]queue.Spec, error) {
	action := ev.GetAction()
	if action != "checks_requested" && action != "destroyed" {
		return nil, nil
	}
	g := ev.GetMergeGroup()
	spec, err := work.MergeGroup{
		Repo:    repoOf(ev.GetInstallation(), ev.GetRepo()),
		HeadSHA: g.GetHeadSHA(), BaseSHA: g.GetBaseSHA(),
		HeadRef: strings.TrimPrefix(g.GetHeadRef(), "refs/heads/"), BaseRef: strings.TrimPrefix(g.GetBaseRef(), "refs/heads/"),
		Message: g.GetHeadCommit().GetMessage(), Destroyed: action == "destroyed",
	}.Spec()
	if err != nil {
		return nil, err
	}
	return []queue.Spec{spec}, nil
}

func pullRequestJobs(ev *gh.PullRequestEvent) ([]queue.Spec, error) {
	switch ev.GetAction() {
	case "opened", "synchronize", "reopened", "ready_for_review":
	case "edited":
		// Only a new base changes the diff; title and body edits don't.
		if ev.GetChanges().GetBase() == nil {
			return nil, nil
		}
	default:
		return nil, nil
	}
	return previewOf(ev.GetInstallation(), ev.GetRepo(), ev.GetPullRequest(), ev.GetPullRequest().GetHead().GetSHA())
}

// previewOf is the preview job of a pull request at head.
func previewOf(inst *gh.Installation, repo *gh.Repository, pr *gh.PullRequest, head string) ([]queue.Spec, error) {
	spec, err := work.Preview{
		Repo:    repoOf(inst, repo),
		Number:  pr.GetNumber(),
		HeadSHA: head,
		BaseRef: pr.GetBase().GetRef(),
		Author:  pr.GetUser().GetLogin(),
	}.Spec()
	if err != nil {
		return nil, err
	}
	return []queue.Spec{spec}, nil
}

// checkRunJobs re-runs a preview when someone presses "Re-run" on ferry's check.
func checkRunJobs(ev *gh.CheckRunEvent) ([]queue.Spec, error) {
	if ev.GetAction() != "rerequested" {
		return nil, nil
	}
	run := ev.GetCheckRun()
	var specs []queue.Spec
	for _, pr := range run.PullRequests {
		spec, err := previewOf(ev.GetInstallation(), ev.GetRepo(), pr, run.GetHeadSHA())
		if err != nil {
			return nil, err
		}
		specs = append(specs, spec...)
	}
	return specs, nil
}

// reviewJobs re-judges a pull request when a review changes what counts.
func reviewJobs(ev *gh.PullRequestReviewEvent) ([]queue.Spec, error) {
	switch ev.GetAction() {
	case "submitted", "dismissed", "edited":
	default:
		return nil, nil
	}
	pr := ev.GetPullRequest()
	if pr.GetState() != "open" {
		return nil, nil
	}
	return previewOf(ev.GetInstallation(), ev.GetRepo(), pr, pr.GetHead().GetSHA())
}

// pushJobs plans the syncs a push calls for, and re-judges the open pull
// requests when the default branch's policies or .ferry.yaml changed: they
// judge every pull request.
func pushJobs(ev *gh.PushEvent) ([]queue.Spec, error) {
	branch, ok := strings.CutPrefix(ev.GetRef(), "refs/heads/")
	// A merge queue's group branch is a check run's subject, never a
	// deploy: the merge into its base syncs.
	if !ok || ev.GetDeleted() || work.IsQueueBranch(branch) {
		return nil, nil
	}
	repo := work.Repo{
		InstallationID: ev.GetInstallation().GetID(),
		FullName:       ev.GetRepo().GetFullName(),
		CloneURL:       ev.GetRepo().GetCloneURL(),
		HTMLURL:        ev.GetRepo().GetHTMLURL(),
		DefaultBranch:  ev.GetRepo().GetDefaultBranch(),
	}
	plan, err := work.Push{Repo: repo, Branch: branch, Before: ev.GetBefore(), After: ev.GetAfter()}.Spec()
	if err != nil {
		return nil, err
	}
	specs := []queue.Spec{plan}
	touched := false
	for _, c := range ev.Commits {
		for _, files := range [][]string{c.Added, c.Modified, c.Removed} {
			for _, f := range files {
				if work.JudgesPullRequests(f) {
					touched = true
				}
			}
		}
	}
	// The default branch's rules judge every pull request: a change to them
	// anywhere else judges nothing.
	if !touched || branch != repo.DefaultBranch {
		return specs, nil
	}
	spec, err := work.Refresh{Repo: repo, BaseRef: branch}.Spec()
	if err != nil {
		return nil, err
	}
	return append(specs, spec), nil
}

// commentJobs takes the /ferry commands of a new comment on a pull request.
// Edited comments and comments by bots (ferry's own replies included) are
// not commands.
func commentJobs(ev *gh.IssueCommentEvent) ([]queue.Spec, error) {
	if ev.GetAction() != "created" || !ev.GetIssue().IsPullRequest() {
		return nil, nil
	}
	user := ev.GetComment().GetUser()
	if user.GetType() == "Bot" || strings.HasSuffix(user.GetLogin(), "[bot]") {
		return nil, nil
	}
	cmds, errs := chatops.Parse(ev.GetComment().GetBody())
	if len(cmds) == 0 && len(errs) == 0 {
		return nil, nil
	}
	spec, err := work.Command{
		Repo:      repoOf(ev.GetInstallation(), ev.GetRepo()),
		Number:    ev.GetIssue().GetNumber(),
		CommentID: ev.GetComment().GetID(),
		Author:    user.GetLogin(),
		Commands:  cmds,
		Errors:    errs,
	}.Spec()
	if err != nil {
		return nil, err
	}
	return []queue.Spec{spec}, nil
}

// repoOf is the repository an event is about.
func repoOf(inst *gh.Installation, repo *gh.Repository) work.Repo {
	return work.Repo{
		InstallationID: inst.GetID(),
		FullName:       repo.GetFullName(),
		CloneURL:       repo.GetCloneURL(),
		HTMLURL:        repo.GetHTMLURL(),
		DefaultBranch:  repo.GetDefaultBranch(),
	}
}
