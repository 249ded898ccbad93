package job

import (
	"context"
	"time"

	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/report"
	"github.com/ferry-gitops/ferry/internal/work"
)

// window lets a sync through when the environment's sync windows allow it
// now. Otherwise an automated sync (a merge, a self-heal) is queued again
// for the moment one opens, and a manual one is refused; either way its
// pull request is told why, and the audit log keeps it.
func (h *Syncs) window(ctx context.Context, gh *github.Client, repo github.Repo, a work.Sync, co *checkout) (open bool, err error) {
	if co.bound.err != nil {
		return true, nil // refused by attempt, with the reason
	}
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	manual := a.Trigger == work.TriggerManual
	w := co.bound.project.SyncWindow(now, co.env.Name, co.env.Destination.Namespace, co.bound.cluster, manual)
	if w.Allowed {
		return true, nil
	}
	held := !manual && !w.Opens.IsZero()
	detail := "refused: " + w.Reason
	if held {
		detail = "held until " + w.Opens.UTC().Format(time.RFC3339) + ": " + w.Reason
	}
	if err := h.DB.AppendAudit(ctx, history.Event{Time: now, Repo: a.FullName, Environment: a.Environment, Kind: "sync-window",
		Actor: a.Actor, Revision: a.Commit, Detail: detail}); err != nil {
		return false, err
	}
	h.Logger.Info("sync window closed", "repo", a.FullName, "environment", a.Environment, "commit", short(a.Commit), "trigger", a.Trigger, "detail", detail)
	if a.PR != 0 {
		if _, err := gh.CreateComment(ctx, repo, a.PR, report.WindowClosed(a.Environment, w.Reason, w.Opens, manual)); err != nil {
			return false, githubRetry(err)
		}
	}
	if !held {
		return false, nil
	}
	spec, err := a.Spec()
	if err != nil {
		return false, err
	}
	spec.RunAfter = w.Opens
	return false, h.Queue.Enqueue(ctx, spec)
}
