package job

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/ferry-gitops/ferry/internal/deploy"
	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/report"
	"github.com/ferry-gitops/ferry/internal/store"
	"github.com/ferry-gitops/ferry/internal/syncer"
	"github.com/ferry-gitops/ferry/internal/work"
)

// awaitCluster puts off a sync the cluster could not judge (an outage: the
// API server unreachable or overloaded, a failing admission webhook). The
// queue runs it again after deploy.WaitForCluster, for as long as the
// outage lasts, spending neither the Application's retries nor the job's
// attempts (queue.Wait); nothing is recorded and nothing reverted. The
// GitHub deployment says why it waits at each try; the pull request is
// told once, at the job's first wait.
func (h *Syncs) awaitCluster(ctx context.Context, gh *github.Client, repo github.Repo, a work.Sync, j queue.Job, run store.SyncRun, out deploy.Outcome) error {
	wait := deploy.WaitForCluster(j.Waits + 1)
	object, reason := h.clusterReason(out.Err)
	h.Logger.Warn("cluster unavailable; the sync waits for it", "repo", a.FullName, "environment", a.Environment, "commit", short(a.Commit),
		"waits", j.Waits+1, "wait", wait, "err", out.Err)
	if err := gh.SetDeploymentStatus(ctx, repo, run.DeploymentID, "queued", report.ClusterWaitStatus(reason, wait)); err != nil {
		return githubRetry(err)
	}
	if a.PR != 0 && j.Waits == 0 {
		if _, err := gh.CreateComment(ctx, repo, a.PR, report.ClusterWaitNotice(a.Environment, object+reason)); err != nil {
			return githubRetry(err)
		}
	}
	return queue.Wait(fmt.Errorf("waiting for the cluster: %w", out.Err), wait)
}

// clusterReason is, on one line and masked, what the cluster answered,
// short enough for a deployment status: the API server's message, or the
// transport failure without the request around it; object names the
// object it answered about ("apps/Deployment/prod/api: "), if one.
func (h *Syncs) clusterReason(err error) (object, reason string) {
	var obj *syncer.ObjectError
	if errors.As(err, &obj) {
		object, err = obj.Key.String()+": ", obj.Err
	}
	var status apierrors.APIStatus
	var request *url.Error
	switch {
	case errors.As(err, &status) && status.Status().Message != "":
		err = errors.New(status.Status().Message)
	case errors.As(err, &request):
		err = request.Err
	}
	reason = firstLine(err.Error())
	if h.Mask != nil {
		object, reason = h.Mask.MaskText(object), h.Mask.MaskText(reason)
	}
	return object, reason
}
