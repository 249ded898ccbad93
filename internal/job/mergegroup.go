package job

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/policy"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/report"
	"github.com/ferry-gitops/ferry/internal/work"
)

// MergeGroups handles work.KindMergeGroup: ferry/diff and ferry/policy on a
// merge queue's group, the commit that will land. The group is rendered
// against its base like a pull request (no sticky comment: a group is not
// a pull request; the checks hold the tables). Its policy passes when the
// group's own lines and renders break no rule (secrets, projects) and every
// pull request in it has, on its current head, the approvals its own
// environments need.
type MergeGroups struct {
	*Previews
}

// Handle checks one group.
func (m *MergeGroups) Handle(ctx context.Context, j queue.Job) error {
	g, err := work.Decode[work.MergeGroup](j)
	if err != nil {
		return err
	}
	if g.Destroyed {
		m.Logger.Info("merge group gone", "repo", g.FullName, "head_ref", g.HeadRef)
		return nil
	}
	gh, repo, err := m.Repos.client(g.Repo)
	if err != nil {
		return err
	}
	c, err := startChecks(ctx, m.DB, gh, repo, g.FullName, g.HeadSHA)
	if err != nil {
		return githubRetry(err)
	}
	started := time.Now()
	snap, commits, err := m.snapshotGroup(ctx, g)
	if err != nil {
		err = maskError(m.Mask, err)
		if queue.IsPermanent(err) {
			if cerr := c.fail(ctx, gh, repo, report.PreviewFailed(err.Error())); cerr != nil {
				return githubRetry(cerr)
			}
		}
		return err
	}
	defer snap.Close()
	v, err := m.judgeGroup(ctx, gh, repo, g, snap, commits)
	if err != nil {
		return githubRetry(err)
	}
	post := report.PreviewOf(snap.res, g.HeadSHA, v.decision, v.findings, v.environments, "", time.Since(started))
	if err := gh.CompleteCheckRun(ctx, repo, c.diff, report.DiffCheckName, post.DiffConclusion, post.Diff); err != nil {
		return githubRetry(err)
	}
	if err := gh.CompleteCheckRun(ctx, repo, c.policy, report.PolicyCheckName, post.PolicyConclusion, post.Policy); err != nil {
		return githubRetry(err)
	}
	m.Logger.Info("merge group checked", "repo", g.FullName, "head_ref", g.HeadRef, "head", short(g.HeadSHA),
		"diff", post.DiffConclusion, "policy", post.PolicyConclusion, "elapsed", time.Since(started))
	return nil
}

// snapshotGroup fetches the group and renders its head against its base,
// judged by the default branch; commits are the group's, one per pull
// request.
func (m *MergeGroups) snapshotGroup(ctx context.Context, g work.MergeGroup) (*snapshot, []repofs.Commit, error) {
	judgeBranch := defaultBranch(g.Repo, g.BaseRef)
	judgeRef := "refs/ferry/base/" + judgeBranch
	refspecs := []string{"+refs/heads/" + g.BaseRef + ":refs/ferry/base/" + g.BaseRef, "+refs/heads/" + g.HeadRef + ":refs/ferry/queue/" + g.HeadRef}
	if judgeBranch != g.BaseRef {
		refspecs = append(refspecs, "+refs/heads/"+judgeBranch+":"+judgeRef)
	}
	dir, _, err := m.Repos.fetch(ctx, g.Repo, refspecs...)
	if err != nil {
		return nil, nil, err
	}
	for _, rev := range []string{g.BaseSHA, g.HeadSHA} {
		if _, err := repofs.ResolveCommit(ctx, dir, rev); err != nil {
			return nil, nil, queue.Permanent(fmt.Errorf("merge group %s: commit %s: %w", g.HeadRef, short(rev), err))
		}
	}
	commits, err := repofs.Commits(ctx, dir, g.BaseSHA, g.HeadSHA)
	if err != nil {
		return nil, nil, queue.Permanent(err)
	}
	s := &snapshot{}
	if err := s.open(ctx, dir, judgeRef, g.BaseSHA, g.HeadSHA); err != nil {
		return nil, nil, err
	}
	if err := m.render(ctx, s, g.HTMLURL, judgeBranch); err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("merge group %s: %w", g.HeadRef, err)
	}
	return s, commits, nil
}

// groupPart is one of a group's judgements: the group's own, or a pull
// request's.
type groupPart struct {
	label    string
	decision *policy.Decision
}

// judgeGroup judges the group's own change (secrets, projects; approvals
// are the pull requests'), then each pull request in it on its own
// environments, and merges the decisions.
func (m *MergeGroups) judgeGroup(ctx context.Context, gh *github.Client, repo github.Repo, g work.MergeGroup, snap *snapshot, commits []repofs.Commit) (*verdict, error) {
	v, in, err := m.scan(ctx, g.Repo, snap)
	if err != nil || v.decision != nil {
		return v, err
	}
	group := in
	group.PullRequest = policy.PullRequest{Base: policy.Ref{Ref: g.BaseRef, SHA: g.BaseSHA}, Head: policy.Ref{Ref: g.HeadRef, SHA: g.HeadSHA}}
	group.Config.Approvals = []policy.ApprovalRule{}
	parts := []groupPart{{"merge group", judge(ctx, snap, group)}}
	var messages []string
	for _, c := range commits {
		messages = append(messages, c.Message)
	}
	numbers := g.PullRequests(messages...)
	for i, n := range numbers {
		d, err := m.judgePull(ctx, gh, repo, snap, in, n, pullFiles(commits, n, len(numbers)))
		if err != nil {
			return nil, err
		}
		// A number only a message names may be an issue, not a pull
		// request: skipped. The one the group's branch names is not.
		if d != nil || i == 0 {
			parts = append(parts, groupPart{fmt.Sprintf("#%d", n), cmpOr(d, policy.FailClosed(fmt.Errorf("pull request #%d not found", n)))})
		}
	}
	v.decision = combine(parts)
	return v, nil
}

// judgePull judges pull request n on the group's environments its files
// touch, with its reviews on its current head. The group's own findings
// are not its: judgeGroup judged them once. nil: no such pull request.
func (m *MergeGroups) judgePull(ctx context.Context, gh *github.Client, repo github.Repo, snap *snapshot, group policy.Input, n int, files []string) (*policy.Decision, error) {
	info, err := gh.GetPullRequest(ctx, repo, n)
	if github.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	in := policy.Input{PullRequest: pullRequestInput(info, snap.res.Base), ChangedFiles: files, Config: group.Config}
	for i, e := range group.Environments {
		if files == nil || readsAny(snap, group.Environments[i].Name, files) {
			e.SecretFindings, e.ProjectViolations = nil, nil
			in.Environments = append(in.Environments, e)
		}
	}
	if err := reviewInput(ctx, gh, repo, info, snap.cfg.Policy, &in); err != nil {
		return nil, err
	}
	return judge(ctx, snap, in), nil
}

// pullFiles are the files pull request n changes in the group: those of
// the commits that name it. nil (every environment counts) when no commit
// does, or when the group holds one pull request.
func pullFiles(commits []repofs.Commit, n, pulls int) []string {
	if pulls <= 1 {
		return nil
	}
	var files []string
	for _, c := range commits {
		if slices.Contains(work.MergeGroup{Message: c.Message}.PullRequests(), n) {
			files = append(files, c.Files...)
		}
	}
	return files
}

// readsAny reports whether files include what environment env's render
// read, or its definition.
func readsAny(snap *snapshot, env string, files []string) bool {
	for _, e := range snap.res.Environments {
		if e.Name != env {
			continue
		}
		for _, f := range files {
			if f == e.Env.File || slices.Contains(e.Files, f) {
				return true
			}
		}
	}
	return false
}

// combine merges the group's judgements: allowed when each is, every
// reason and approval row labelled with whose it is.
func combine(parts []groupPart) *policy.Decision {
	out := &policy.Decision{Allowed: true}
	var summary []string
	for _, p := range parts {
		d := p.decision
		out.Allowed = out.Allowed && d.Allowed
		for _, reason := range d.Deny {
			out.Deny = append(out.Deny, p.label+": "+reason)
		}
		for _, st := range d.Status {
			st.Environment = p.label + " " + st.Environment
			out.Status = append(out.Status, st)
		}
		for _, line := range strings.Split(d.Summary, "\n") {
			if strings.TrimSpace(line) != "" {
				summary = append(summary, p.label+": "+line)
			}
		}
	}
	out.Summary = strings.Join(summary, "\n")
	return out
}

func cmpOr(d, fallback *policy.Decision) *policy.Decision {
	if d != nil {
		return d
	}
	return fallback
}
