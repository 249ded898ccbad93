package githubtest

import (
	"testing"
)

// MergeGroup is a merge queue's group as a merge_group event carries it.
type MergeGroup struct {
	HeadSHA string
	// HeadRef is the group's temporary branch, full ref:
	// refs/heads/gh-readonly-queue/<base>/pr-<n>-<sha>.
	HeadRef string
	BaseSHA string
	BaseRef string // full ref: refs/heads/main
	// Message is the head commit's message.
	Message string
}

// MergeGroupPayload builds a merge_group event (checks_requested or
// destroyed) to repo, from the examples.
func MergeGroupPayload(t testing.TB, action string, repo Repo, g MergeGroup) []byte {
	t.Helper()
	p := LoadPayload(t, "merge_group."+action)
	repo = repo.withDefaults()
	setRepository(p, repo)
	mg := obj(p, "merge_group")
	mg["head_sha"], mg["head_ref"], mg["base_sha"], mg["base_ref"] = g.HeadSHA, g.HeadRef, g.BaseSHA, g.BaseRef
	head := obj(mg, "head_commit")
	head["id"], head["tree_id"], head["message"], head["timestamp"] = g.HeadSHA, fakeSHA("tree "+g.HeadSHA), g.Message, ts(now())
	return marshal(t, p)
}
