package job

import (
	"context"
	"log/slog"
	"strings"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/report"
	"github.com/ferry-gitops/ferry/internal/store"
	"github.com/ferry-gitops/ferry/internal/work"
)

// Plans handles work.KindPush: it decides which environments a push syncs.
type Plans struct {
	Repos  Repos
	DB     *store.DB
	Queue  Enqueuer
	Logger *slog.Logger
}

// Handle queues a sync of each automated environment, as the default
// branch defines it, whose target branch the push moved and whose files it
// touches, and of each ferry has never synced; a merged pull request hears
// about the manual ones.
func (p *Plans) Handle(ctx context.Context, j queue.Job) error {
	push, err := work.Decode[work.Push](j)
	if err != nil {
		return err
	}
	gh, repo, err := p.Repos.client(push.Repo)
	if err != nil {
		return err
	}
	trees, err := p.open(ctx, push)
	if err != nil {
		return err
	}
	defer trees.Close()
	pr, err := gh.PullRequestForCommit(ctx, repo, push.After)
	if err != nil {
		p.Logger.Warn("no pull request for the pushed commit", "repo", push.FullName, "commit", short(push.After), "err", err)
	}
	syncs, manual, err := p.plan(ctx, push, trees, pr)
	if err != nil {
		return err
	}
	if len(manual) > 0 && pr != nil {
		if _, err := gh.CreateComment(ctx, repo, pr.Number, report.ManualSyncNotice(manual)); err != nil {
			return githubRetry(err)
		}
	}
	if len(syncs) == 0 {
		return nil
	}
	p.Logger.Info("syncs planned", "repo", push.FullName, "branch", push.Branch, "commit", short(push.After), "environments", len(syncs))
	return p.Queue.Enqueue(ctx, syncs...)
}

// pushTrees are the pushed commit, the one before it (nil on a new branch)
// and the environments the default branch defines.
type pushTrees struct {
	before, after *repofs.Tree
	registry      *registry
	changed       []string
}

func (t *pushTrees) Close() {
	t.after.Close()
	if t.before != nil {
		t.before.Close()
	}
}

func (p *Plans) open(ctx context.Context, push work.Push) (*pushTrees, error) {
	registry := defaultBranch(push.Repo, push.Branch)
	dir, _, err := p.Repos.fetchBranch(ctx, push.Repo, push.Branch, registry)
	if err != nil {
		return nil, err
	}
	t := &pushTrees{}
	if t.after, err = repofs.OpenGit(ctx, dir, push.After); err != nil {
		return nil, queue.Permanent(err)
	}
	if push.Before != "" && strings.Trim(push.Before, "0") != "" {
		if before, err := repofs.OpenGit(ctx, dir, push.Before); err == nil {
			t.before, t.changed = before, repofs.Changed(before, t.after)
		}
	}
	if t.registry, err = p.Repos.readRegistry(ctx, dir, push.Repo, registry); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// plan returns the syncs to queue and the manual environments the push
// changed.
func (p *Plans) plan(ctx context.Context, push work.Push, t *pushTrees, pr *github.PullRequest) ([]queue.Spec, []string, error) {
	var specs []queue.Spec
	var manual []string
	for _, env := range t.registry.found.Environments {
		if env.External || t.registry.targetBranch(env) != push.Branch {
			continue
		}
		_, seen, err := p.DB.Inventory(ctx, push.FullName, env.Name)
		if err != nil {
			return nil, nil, err
		}
		trigger, ok := syncTrigger(env, t, seen, pr)
		if !ok {
			continue
		}
		if !automated(env) {
			manual = append(manual, env.Name)
			continue
		}
		a := work.Sync{Repo: push.Repo, Branch: push.Branch, Commit: push.After, Environment: env.Name, Trigger: trigger}
		if pr != nil {
			a.PR, a.Actor = pr.Number, pr.MergedBy
		}
		spec, err := a.Spec()
		if err != nil {
			return nil, nil, queue.Permanent(err)
		}
		specs = append(specs, spec)
	}
	return specs, manual, nil
}

// syncTrigger says why a push syncs env, if it does: ferry has never
// synced it, or the push touches its files (or an app-of-apps parent's)
// at either side. A merged rollback pull request (ferry's own) is a
// rollback.
func syncTrigger(env environment.Environment, t *pushTrees, seen bool, pr *github.PullRequest) (string, bool) {
	if !seen {
		return work.TriggerFirstSight, true
	}
	if t.before != nil && !t.registry.touched(env, t.before, t.after, t.changed) {
		return "", false
	}
	if pr != nil && strings.HasPrefix(pr.HeadRef, rollbackBranchPrefix) {
		return work.TriggerRollback, true
	}
	return work.TriggerMerge, true
}

// touches reports whether changed touches env's files in tree; when they
// cannot be worked out, it does.
func touches(tree *repofs.Tree, env environment.Environment, changed []string) bool {
	deps, err := environment.Dependencies(tree, env)
	return err != nil || deps.Touches(changed)
}

func automated(env environment.Environment) bool {
	a := env.SyncPolicy
	return a != nil && a.Automated != nil && (a.Automated.Enabled == nil || *a.Automated.Enabled)
}

func selfHeal(env environment.Environment) bool {
	return automated(env) && env.SyncPolicy.Automated.SelfHeal
}
