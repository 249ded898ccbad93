package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-gitops/ferry/internal/config"
	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/report"
	"github.com/ferry-gitops/ferry/internal/secrets"
)

// Check and comment identities. The check names are stable: branch
// protection requires them by name.
const (
	DiffCheckName = "ferry/diff"
	diffMarker    = "<!-- ferry:diff -->"
	// commentBudget leaves GitHub's 65,536-character limit a margin for the marker.
	commentBudget = 65536 - 64
	checkBudget   = 65535
)

// GitHub is what a preview does on GitHub, for one installation.
type GitHub interface {
	UpsertComment(ctx context.Context, repo github.Repo, number int, knownID int64, marker, body string) (int64, error)
	StartCheckRun(ctx context.Context, repo github.Repo, name, sha, title string) (int64, error)
	CompleteCheckRun(ctx context.Context, repo github.Repo, id int64, name, conclusion string, out github.CheckOutput) error
	GetPullRequest(ctx context.Context, repo github.Repo, number int) (*github.PullRequest, error)
	LatestReviews(ctx context.Context, repo github.Repo, number int) ([]github.Review, error)
	Permission(ctx context.Context, repo github.Repo, user string) (string, error)
	TeamMember(ctx context.Context, org, team, user string) (bool, error)
}

// Mirrors fetches a repository's refs into a local bare mirror.
type Mirrors interface {
	Fetch(ctx context.Context, fullName, cloneURL, token string, refspecs ...string) (string, error)
}

// State remembers small facts across jobs (the sticky comment's id).
type State interface {
	Get(ctx context.Context, namespace, key string) (string, bool, error)
	Put(ctx context.Context, namespace, key, value string) error
}

// Previewer handles KindPreview jobs.
type Previewer struct {
	Client  func(installationID int64) (GitHub, error)
	Token   func(ctx context.Context, installationID int64) (string, error)
	Mirrors Mirrors
	State   State
	// Renderer renders untrusted trees (a sandbox.Pool in the server).
	Renderer preview.Renderer
	// SecretRules are gitleaks' rules, compiled once at start-up.
	SecretRules *secrets.Rules
	// Clusters resolves destinations, for /ferry diff --live.
	Clusters func(dest environment.Destination) (*kube.Cluster, error)
	// Mask hides secret values in every diff and error the preview shows,
	// the live section's included (secrets.Masker); nil leaves it to the
	// diff's Secret redaction.
	Mask   diff.Masker
	Logger *slog.Logger
}

// Handle previews one pull request at one head commit and judges it: the
// diff comment, the ferry/diff check and the ferry/policy check.
func (p *Previewer) Handle(ctx context.Context, j queue.Job) error {
	pr, repo, err := decode[PullRequest](j)
	if err != nil {
		return err
	}
	gh, err := p.Client(pr.InstallationID)
	if err != nil {
		return err
	}
	info, err := gh.GetPullRequest(ctx, repo, pr.Number)
	if github.IsNotFound(err) {
		// Right after the webhook GitHub's replicas may not know the PR yet.
		return queue.RetryAfter(err, 2*time.Second)
	}
	if err != nil {
		return githubRetry(err)
	}
	if info.State != "open" {
		p.Logger.Info("preview skipped: pull request is closed", "repo", pr.Repo, "pr", pr.Number, "head", short(pr.HeadSHA))
		return nil
	}
	// The event's head wins over the one GitHub reports: right after a push
	// a replica may still answer with the old head. A head that is really
	// gone is found missing at fetch time, and the newer push has its own job.
	info.HeadSHA = pr.HeadSHA
	if pr.BaseRef == "" {
		pr.BaseRef = info.BaseRef
	}
	diffID, err := p.checkRun(ctx, gh, repo, pr, DiffCheckName)
	if err != nil {
		return githubRetry(err)
	}
	policyID, err := p.checkRun(ctx, gh, repo, pr, PolicyCheckName)
	if err != nil {
		return githubRetry(err)
	}
	started := time.Now()
	snap, err := p.snapshot(ctx, pr)
	if err != nil {
		// Shown on the checks, logged and stored by the queue: a discovery
		// or configuration error can quote the head's contents.
		err = maskError(p.Mask, err)
		if queue.IsPermanent(err) && !errors.Is(err, errHeadMoved) {
			// Nothing will retry this: say why on both checks instead of
			// leaving them in progress forever (and the PR unmergeable).
			out := github.CheckOutput{Title: "ferry could not preview this pull request", Summary: report.Fenced("", err.Error())}
			for _, c := range []struct {
				id   int64
				name string
			}{{diffID, DiffCheckName}, {policyID, PolicyCheckName}} {
				if cerr := gh.CompleteCheckRun(ctx, repo, c.id, c.name, "failure", out); cerr != nil {
					return githubRetry(cerr)
				}
			}
		}
		return err
	}
	defer snap.Close()
	res := snap.res
	v, err := p.evaluate(ctx, gh, repo, info, snap)
	if err != nil {
		return githubRetry(err)
	}
	elapsed := time.Since(started)
	footer := report.PreviewFooter(pr.HeadSHA, res.Base, elapsed)
	policySection := report.Policy(v.decision, v.findings)
	if pr.Live {
		policySection += "\n" + p.liveSection(ctx, pr, snap)
	}

	body := report.Markdown(res, report.MarkdownOptions{Title: "ferry diff", Marker: diffMarker, MaxChars: commentBudget, Footer: policySection + "\n" + footer})
	if err := p.upsertComment(ctx, gh, repo, pr, body); err != nil {
		return githubRetry(err)
	}
	conclusion, summary, annotations := checkConclusion(res)
	out := github.CheckOutput{
		Title:       summary,
		Summary:     report.Markdown(res, report.MarkdownOptions{Title: "ferry diff", MaxChars: checkBudget, Footer: footer}),
		Annotations: annotations,
	}
	if err := gh.CompleteCheckRun(ctx, repo, diffID, DiffCheckName, conclusion, out); err != nil {
		return githubRetry(err)
	}
	policyConclusion, policyOut := report.PolicyCheck(v.decision, v.findings)
	if err := gh.CompleteCheckRun(ctx, repo, policyID, PolicyCheckName, policyConclusion, policyOut); err != nil {
		return githubRetry(err)
	}
	p.Logger.Info("preview posted", "repo", pr.Repo, "pr", pr.Number, "head", short(pr.HeadSHA), "environments", len(res.Environments),
		"diff", conclusion, "policy", policyConclusion, "secret_findings", len(v.findings), "elapsed", elapsed)
	return nil
}

// checkRun creates the in-progress check once per head commit; a retried job
// finds the id it stored and reuses the run.
func (p *Previewer) checkRun(ctx context.Context, gh GitHub, repo github.Repo, pr PullRequest, name string) (int64, error) {
	key := pr.Repo + "@" + pr.HeadSHA + "/" + name
	if v, ok, err := p.State.Get(ctx, "check_run", key); err != nil {
		return 0, err
	} else if ok {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			return id, nil
		}
	}
	id, err := gh.StartCheckRun(ctx, repo, name, pr.HeadSHA, "Rendering environments…")
	if err != nil {
		return 0, err
	}
	return id, p.State.Put(ctx, "check_run", key, strconv.FormatInt(id, 10))
}

func (p *Previewer) upsertComment(ctx context.Context, gh GitHub, repo github.Repo, pr PullRequest, body string) error {
	key := pr.Key()
	var known int64
	if v, ok, err := p.State.Get(ctx, "diff_comment", key); err != nil {
		return err
	} else if ok {
		known, _ = strconv.ParseInt(v, 10, 64)
	}
	id, err := gh.UpsertComment(ctx, repo, pr.Number, known, diffMarker, body)
	if err != nil {
		return err
	}
	if id != known {
		return p.State.Put(ctx, "diff_comment", key, strconv.FormatInt(id, 10))
	}
	return nil
}

// errHeadMoved marks a head commit that is no longer on the pull request.
var errHeadMoved = errors.New("no longer on the pull request")

// snapshot is one pull request rendered: the preview and the trees it came
// from, kept open for the checks that read them.
type snapshot struct {
	res *preview.Result
	// cfg is the base branch's .ferry.yaml; baseTip its tree, which holds
	// the policies that judge the change.
	cfg                 *config.Config
	baseTip, base, head *repofs.Tree
}

func (s *snapshot) Close() {
	for _, t := range []*repofs.Tree{s.baseTip, s.base, s.head} {
		t.Close()
	}
}

// snapshot fetches the pull request and renders it against its merge base
// with the base branch, judged by the base branch's configuration.
func (p *Previewer) snapshot(ctx context.Context, pr PullRequest) (*snapshot, error) {
	token, err := p.Token(ctx, pr.InstallationID)
	if err != nil {
		return nil, githubRetry(err)
	}
	baseRef := "refs/ferry/base/" + pr.BaseRef
	headRef := fmt.Sprintf("refs/ferry/pull/%d/head", pr.Number)
	dir, err := p.Mirrors.Fetch(ctx, pr.Repo, pr.CloneURL, token,
		"+refs/heads/"+pr.BaseRef+":"+baseRef,
		fmt.Sprintf("+refs/pull/%d/head:%s", pr.Number, headRef))
	if err != nil {
		return nil, err
	}
	if _, err := repofs.ResolveCommit(ctx, dir, pr.HeadSHA); err != nil {
		// The PR moved on before we fetched; the newer push has its own job.
		return nil, queue.Permanent(fmt.Errorf("head %s of %s#%d: %w: %w", short(pr.HeadSHA), pr.Repo, pr.Number, errHeadMoved, err))
	}
	mergeBase, err := repofs.MergeBase(ctx, dir, baseRef, pr.HeadSHA)
	if err != nil {
		return nil, queue.Permanent(err)
	}
	s := &snapshot{}
	if s.baseTip, err = repofs.OpenGit(ctx, dir, baseRef); err != nil {
		return nil, err
	}
	if s.base, err = repofs.OpenGit(ctx, dir, mergeBase); err != nil {
		s.baseTip.Close()
		return nil, err
	}
	if s.head, err = repofs.OpenGit(ctx, dir, pr.HeadSHA); err != nil {
		s.baseTip.Close()
		s.base.Close()
		return nil, err
	}
	if s.cfg, err = config.Load(s.baseTip); err != nil {
		s.Close()
		return nil, queue.Permanent(fmt.Errorf("base branch %s: %w", pr.BaseRef, err))
	}
	s.res, err = preview.Run(ctx, s.base, s.head, preview.Options{
		RepoURL:  pr.HTMLURL,
		Renderer: p.Renderer,
		Diff:     diff.Options{Context: 3, IgnoreLabels: s.cfg.Diff.IgnoreLabels, IgnoreAnnotations: s.cfg.Diff.IgnoreAnnotations, Mask: p.Mask},
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("preview %s#%d: %w", pr.Repo, pr.Number, err)
	}
	return s, nil
}

// maskedError is an error whose text is masked; it unwraps to the error,
// so the queue still reads retries and permanence from it.
type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }

// maskError masks err's text; a nil masker leaves it as it is.
func maskError(m diff.Masker, err error) error {
	if m == nil {
		return err
	}
	return &maskedError{msg: m.MaskText(err.Error()), err: err}
}

// checkConclusion fails the check when an environment does not render, and
// points an annotation at the file and line of each error.
func checkConclusion(res *preview.Result) (string, string, []github.Annotation) {
	var failed []string
	var annotations []github.Annotation
	changed := 0
	for _, e := range res.Environments {
		switch e.Status {
		case preview.Changed:
			changed++
		case preview.Error:
			failed = append(failed, e.Name)
			if e.ErrorFile != "" {
				annotations = append(annotations, github.Annotation{
					Path: e.ErrorFile, StartLine: max(e.ErrorLine, 1), Level: "failure",
					Title: "ferry: " + e.Name + " does not render", Message: e.Error,
				})
			}
		}
	}
	if len(failed) > 0 {
		return "failure", fmt.Sprintf("%d environment(s) fail to render: %s", len(failed), strings.Join(failed, ", ")), annotations
	}
	if changed == 0 {
		return "success", "No environment changes", nil
	}
	return "success", fmt.Sprintf("%d environment(s) change", changed), nil
}

// githubRetry turns GitHub's rate limits into a queue retry at the right time.
func githubRetry(err error) error {
	if err == nil {
		return nil
	}
	if queue.IsPermanent(err) {
		return err
	}
	if d, ok := github.RetryDelay(err, time.Now()); ok && d > 0 {
		return queue.RetryAfter(err, d)
	}
	return err
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
