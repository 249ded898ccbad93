package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/ferry-gitops/ferry/internal/health"
	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/markdown"
	"github.com/ferry-gitops/ferry/internal/syncer"
)

// What ferry says about syncs: the comment on the merged pull request, the
// revert pull request, and the notices of a locked environment, a manual
// sync policy and a rollout that degraded later. Environment and object
// names, lock reasons and errors are someone else's text: they go through
// Code, CodeCell, Escape and Fenced, so none of it can break out of its
// place, mention anyone or link anything.

// maxReason caps a lock reason where it is quoted.
const maxReason = 200

// maxError caps an error quoted inline.
const maxError = 300

// SyncResult is one sync of one environment, as its comment explains it.
type SyncResult struct {
	Environment string
	Record      history.Sync
	// Changes is what the sync did to each object; nil when it never
	// reached the cluster.
	Changes *syncer.ChangeSet
	// Unhealthy are the objects that kept the rollout from turning healthy.
	Unhealthy []syncer.ResourceHealth
	// RevertNote is a line on the revert pull request (RevertOpened and
	// the like), already markdown.
	RevertNote string
}

// syncIcons are the result icons of a sync comment's heading.
var syncIcons = map[string]string{history.Succeeded: "✅", history.Failed: "❌", history.Degraded: "❌", history.Refused: "⛔"}

// SyncComment is the comment a sync posts on the pull request it synced.
func SyncComment(r SyncResult) string {
	var b strings.Builder
	rec := r.Record
	fmt.Fprintf(&b, "### ferry sync: %s %s %s\n\n", syncIcons[rec.Result], markdown.Code(r.Environment), markdown.Escape(rec.Result))
	fmt.Fprintf(&b, "Revision %s, %s.\n\n", markdown.Code(shortRevision(rec.Revision)), rec.Finished.Sub(rec.Started).Round(time.Millisecond))
	if r.Changes != nil {
		b.WriteString(changeSet(r.Changes))
		b.WriteString("\n")
	}
	if rec.Error != "" {
		b.WriteString(markdown.Fenced("", rec.Error))
	}
	for _, u := range r.Unhealthy {
		if u.Status.Code != health.Healthy {
			b.WriteString(unhealthyItem(u))
		}
	}
	if r.RevertNote != "" {
		b.WriteString("\n" + r.RevertNote + "\n")
	}
	return b.String()
}

// changeSet is a sync's summary and a table of the objects that changed or
// failed; unchanged objects are only counted, so a large app's comment
// stays readable.
func changeSet(cs *syncer.ChangeSet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**: %s\n", markdown.Escape(cs.App), cs.Summary())
	var rows []syncer.Change
	for _, c := range cs.Changes {
		if c.Action != syncer.Unchanged {
			rows = append(rows, c)
		}
	}
	if len(rows) == 0 {
		return b.String()
	}
	b.WriteString("\n| Action | Object | Message |\n|---|---|---|\n")
	for _, c := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", markdown.Escape(syncAction(c)), markdown.CodeCell(c.Key.String()), markdown.Escape(c.Error))
	}
	return b.String()
}

// unhealthyItem is a list item naming an object and its health.
func unhealthyItem(u syncer.ResourceHealth) string {
	return fmt.Sprintf("- %s: %s %s\n", markdown.Code(u.Key.String()), markdown.Escape(string(u.Status.Code)), markdown.Escape(u.Status.Message))
}

// Revert is a sync whose commit a pull request reverts.
type Revert struct {
	Environment string
	// Record is the sync; its Revision is the reverted commit.
	Record history.Sync
	// PR is the pull request that merged the commit; 0 when none did.
	PR        int
	Unhealthy []syncer.ResourceHealth
}

// RevertBody is the body of the pull request that reverts a commit whose
// sync failed or whose rollout degraded.
func RevertBody(r Revert) string {
	var b strings.Builder
	fmt.Fprintf(&b, "ferry could not roll out %s to **%s** (result: %s), so this pull request reverts it.\n\n", markdown.Code(shortRevision(r.Record.Revision)), markdown.Escape(r.Environment), markdown.Escape(r.Record.Result))
	if r.PR != 0 {
		fmt.Fprintf(&b, "Original pull request: #%d\n\n", r.PR)
	}
	b.WriteString("**Error**\n\n" + markdown.Fenced("", r.Record.Error))
	if len(r.Unhealthy) > 0 {
		b.WriteString("**Unhealthy resources**\n\n")
		for _, u := range r.Unhealthy {
			b.WriteString(unhealthyItem(u))
		}
	}
	return b.String()
}

// The lines a sync comment says about its revert pull request.

// RevertAlreadyOpen: the commit's revert pull request is open already.
func RevertAlreadyOpen(url string) string {
	return "A revert pull request is already open: " + url
}

// RevertNotOpened: the revert could not be made.
func RevertNotOpened(err error) string {
	return "ferry could not open a revert pull request: " + markdown.Escape(err.Error())
}

// RevertConflict: reverting commit conflicts with what followed it on branch.
func RevertConflict(commit, branch string) string {
	return fmt.Sprintf("ferry could not open a revert pull request: reverting %s conflicts with later changes on %s; revert it by hand.", markdown.Code(shortRevision(commit)), markdown.Code(branch))
}

// RevertNotPushed: the revert branch could not be pushed.
func RevertNotPushed(err error) string {
	return "ferry could not push the revert branch: " + markdown.Escape(err.Error())
}

// RevertPRNotOpened: branch was pushed, its pull request not opened.
func RevertPRNotOpened(branch string, err error) string {
	return "ferry pushed " + markdown.Code(branch) + " but could not open its pull request: " + markdown.Escape(err.Error())
}

// RevertOpened: pull request number, at url, reverts the change.
func RevertOpened(number int, url string) string {
	return fmt.Sprintf("ferry opened #%d to revert this change: %s", number, url)
}

// DegradedComment tells a pull request that its rollout degraded after
// its sync had succeeded: why (reason), and what was done about it (note,
// a revert line above).
func DegradedComment(env, reason, note string) string {
	return fmt.Sprintf("### ferry: ❌ %s degraded after its sync\n\n%s%s\n", markdown.Code(env), markdown.Fenced("", reason), note)
}

// LockedNotice tells a merged pull request that its sync of env waits
// for the lock that by took (for reason), behind waiting syncs in all.
func LockedNotice(env, by, reason string, waiting int) string {
	msg := fmt.Sprintf("ferry: %s is locked by %s", markdown.Code(env), markdown.Mention(by))
	if reason != "" {
		msg += " (" + markdown.Escape(markdown.Clip(reason, maxReason)) + ")"
	}
	return msg + fmt.Sprintf(", so this change is queued (%d waiting). It syncs, in order, on %s.", waiting, markdown.Code("/ferry unlock "+env))
}

// ClusterWaitNotice tells a merged pull request, once, that the sync of
// env waits for the cluster, which could not judge the change (reason, the
// error it answered, masked): it is tried again until the cluster is back,
// and an outage never reverts it.
func ClusterWaitNotice(env, reason string) string {
	return fmt.Sprintf("ferry: the sync of %s waits for the cluster, which could not judge the change:\n\n%s"+
		"That is the cluster's fault, not this change's: ferry tries again, less and less often, and syncs it once the cluster is back. "+
		"An outage never opens a revert. The deployment's status shows the latest try.\n",
		markdown.Code(env), markdown.Fenced("", markdown.Clip(reason, maxError)))
}

// maxDeploymentStatus is GitHub's limit on a deployment status description
// (characters), which the client enforces in bytes.
const maxDeploymentStatus = 140

// ClusterWaitStatus is the deployment status of a sync waiting for the
// cluster (reason, masked), to be tried again in retry. The retry comes
// first, the reason is clipped to fit.
func ClusterWaitStatus(reason string, retry time.Duration) string {
	wait := retry.Round(time.Second).String()
	if m, ok := strings.CutSuffix(wait, "m0s"); ok {
		wait = m + "m"
	}
	full := fmt.Sprintf("waiting for the cluster, retrying in %s: %s", wait, reason)
	desc := markdown.Clip(full, maxDeploymentStatus)
	for n := maxDeploymentStatus - 1; len(desc) > maxDeploymentStatus; n-- {
		desc = markdown.Clip(full, n)
	}
	return desc
}

// ManualSyncNotice tells a merged pull request that envs, whose sync
// policy is manual, wait for a /ferry sync.
func ManualSyncNotice(envs []string) string {
	verb := "have"
	if len(envs) == 1 {
		verb = "has"
	}
	return fmt.Sprintf("ferry: %s %s a manual sync policy, so this merge is not applied yet. Comment `/ferry sync ENV` here to sync it (an engineer approves each sync).",
		codeList(envs), verb)
}

// codeList is names as code spans, comma-separated.
func codeList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = markdown.Code(n)
	}
	return strings.Join(quoted, ", ")
}

// shortRevision is a commit id as ferry shows it: its first 12 characters.
func shortRevision(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// WindowClosed tells a pull request that a sync window stopped env's sync:
// held until opens (zero when no window opens soon, or when the sync was
// manual, which is refused).
func WindowClosed(env, reason string, opens time.Time, manual bool) string {
	msg := fmt.Sprintf("ferry: %s is not synced now: %s.", markdown.Code(env), markdown.Escape(markdown.Clip(reason, maxReason)))
	switch {
	case manual:
		return msg + " Ask again when the window allows it, or have the project's window allow manual syncs (`manualSync: true`)."
	case opens.IsZero():
		return msg + " No sync window opens in the next 8 days, so it is not queued: sync it with `/ferry sync " + env + "` once one does."
	}
	return msg + fmt.Sprintf(" It is queued and syncs when the window allows, at %s.", opens.UTC().Format("2006-01-02 15:04 MST"))
}
