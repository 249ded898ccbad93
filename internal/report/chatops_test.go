package report

import (
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/mdtest"
)

func TestChatOpsPosts(t *testing.T) {
	target := history.Sync{ID: 3, Revision: sha2, Started: postTime}
	checkPosts(t, []post{
		{
			name: "command-replies",
			md: Replies([]string{
				LockReply(evilName),
				UnlockReply(evilName),
				UnknownCommand("frobnicate`"),
				DiffRefusedClosed(5),
				SyncReply(evilName, evilName, sha2),
				SyncRefusedUnknown(evilName, evilName),
				SyncRefusedUnmerged(evilName),
			}),
			allow: mdtest.Allow{Mentions: []string{"#5"}},
			shows: []string{evilName, "/ferry unlock " + evilName, "frobnicate`", "/ferry sync " + evilName},
		},
		{
			name:  "rollback-refusal",
			md:    RollbackRefusedNoSync(evilName, 9),
			shows: []string{evilName, "#9", "/ferry history " + evilName},
		},
		{
			name: "rollback-refusals",
			md: strings.Join([]string{
				RollbackRefusedNoHistory(evilName),
				RollbackRefusedNoSync(evilName, 9),
				RollbackRefusedNeverSynced(evilName, "deadbeef`"),
				RollbackRefusedNoEarlier(evilName),
			}, "\n") + "\n",
			shows: []string{evilName, "deadbeef`", "/ferry history " + evilName},
		},
		{
			name:  "rollback-body",
			md:    RollbackBody(Rollback{Author: "octocat", PR: 5, Environment: "prod", Target: target}),
			allow: mdtest.Allow{Mentions: []string{"@octocat", "#5"}},
		},
		{
			// A requester that is not a login is shown, not mentioned.
			name:  "rollback-body-hostile",
			md:    RollbackBody(Rollback{Author: "not a login`", PR: 5, Environment: evilName, Target: target}),
			allow: mdtest.Allow{Mentions: []string{"#5"}},
			shows: []string{"not a login`", evilName},
		},
		{
			name: "rollback-replies",
			md: strings.Join([]string{
				RollbackReply(13, evilName, sha2, "https://github.com/acme/infra/pull/13"),
				RollbackRefusedGone(sha2, evilName),
			}, "\n") + "\n",
			allow: mdtest.Allow{Mentions: []string{"#13"}},
			shows: []string{evilName},
			links: []string{"https://github.com/acme/infra/pull/13"},
		},
	})
}
