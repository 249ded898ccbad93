package report

import (
	"fmt"
	"strings"

	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/markdown"
)

// The replies to /ferry commands, and the pull request a rollback opens.
// Environment names, revisions and command names are the commenter's text:
// they are shown as code.

// Replies joins the replies to one comment's commands into one comment.
func Replies(replies []string) string {
	return strings.Join(replies, "\n\n---\n\n")
}

// LockReply: env is locked.
func LockReply(env string) string {
	return fmt.Sprintf("🔒 %s is locked: merges to it queue until %s.", markdown.Code(env), markdown.Code("/ferry unlock "+env))
}

// UnlockReply: env is unlocked.
func UnlockReply(env string) string {
	return fmt.Sprintf("🔓 %s is unlocked: queued syncs resume in order.", markdown.Code(env))
}

// UnknownCommand refuses a command ferry does not implement.
func UnknownCommand(name string) string {
	return fmt.Sprintf("%s is not implemented", markdown.Code(name))
}

// DiffRefusedClosed refuses /ferry diff on closed pull request number.
func DiffRefusedClosed(number int) string {
	return fmt.Sprintf("#%d is closed: there is nothing to preview.", number)
}

// SyncReply: env is syncing to commit, the tip of the branch it follows.
func SyncReply(env, branch, commit string) string {
	return fmt.Sprintf("Syncing %s to the tip of %s, %s; the result follows here.", markdown.Code(env), markdown.Code(branch), markdown.Code(shortRevision(commit)))
}

// SyncRefusedUnknown refuses /ferry sync of an environment the default
// branch does not define.
func SyncRefusedUnknown(env, defaultBranch string) string {
	return fmt.Sprintf("%s is not an environment of the default branch %s: only what is merged there can sync.", markdown.Code(env), markdown.Code(defaultBranch))
}

// SyncRefusedUnmerged refuses /ferry sync on a pull request not merged.
func SyncRefusedUnmerged(env string) string {
	return fmt.Sprintf("%s runs on a merged pull request: Git first. Merge this pull request (its checks show what it will do), then sync.", markdown.Code("/ferry sync "+env))
}

// Rollback is a /ferry rollback, as its pull request explains it.
type Rollback struct {
	// Author asked for it, on pull request PR.
	Author string
	PR     int
	// Environment is rolled back to Target, a sync from its history.
	Environment string
	Target      history.Sync
}

// RollbackBody is the body of the pull request a rollback opens.
func RollbackBody(r Rollback) string {
	return fmt.Sprintf("Requested by %s in #%d: the repository as it was at %s, synced to %s as sync %s (%s).\n\nMerging this syncs it back, through the same review and checks as any change.",
		markdown.Mention(r.Author), r.PR, markdown.Code(shortRevision(r.Target.Revision)), markdown.Code(r.Environment), markdown.Code(fmt.Sprintf("#%d", r.Target.ID)), r.Target.Started.UTC().Format("2006-01-02 15:04"))
}

// RollbackReply: pull request number, at url, rolls env back to revision.
func RollbackReply(number int, env, revision, url string) string {
	return fmt.Sprintf("Opened #%d to roll %s back to %s: %s", number, markdown.Code(env), markdown.Code(shortRevision(revision)), url)
}

// RollbackRefusedGone refuses a rollback to a revision no longer on branch.
func RollbackRefusedGone(revision, branch string) string {
	return fmt.Sprintf("revision %s is not on %s any more", markdown.Code(shortRevision(revision)), markdown.Code(branch))
}

// RollbackRefusedNoHistory refuses a rollback of env, never synced.
func RollbackRefusedNoHistory(env string) string {
	return fmt.Sprintf("%s has no sync history to roll back to.", markdown.Code(env))
}

// RollbackRefusedNoSync refuses a rollback of env to sync id, not in its
// history.
func RollbackRefusedNoSync(env string, id int64) string {
	return fmt.Sprintf("%s has no sync %s in its history (%s lists them).", markdown.Code(env), markdown.Code(fmt.Sprintf("#%d", id)), markdown.Code("/ferry history "+env))
}

// RollbackRefusedNeverSynced refuses a rollback of env to revision, which
// it was never synced to.
func RollbackRefusedNeverSynced(env, revision string) string {
	return fmt.Sprintf("%s was never synced to %s (%s lists its revisions).", markdown.Code(env), markdown.Code(revision), markdown.Code("/ferry history "+env))
}

// RollbackRefusedNoEarlier refuses a rollback of env that has no earlier
// successful revision.
func RollbackRefusedNoEarlier(env string) string {
	return fmt.Sprintf("%s has no earlier successful revision to roll back to.", markdown.Code(env))
}
