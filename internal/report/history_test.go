package report

import (
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/mdtest"
)

func TestHistoryPosts(t *testing.T) {
	checkPosts(t, []post{
		{
			name: "history",
			md: History(evilName, []history.Sync{{ID: 3, Revision: sha, Result: evilName, Trigger: evilReason, Merger: "octocat", Started: postTime},
				{ID: 2, Revision: sha, Result: history.Succeeded, Trigger: "merge", Merger: "not a login`", Started: postTime}}),
			// Anyone may ask for the table: mergers are named, not mentioned.
			allow: mdtest.Allow{Headings: []string{"Sync history of " + evilName}},
			shows: []string{"@octocat", shown(evilReason), "not a login`"},
		},
		{
			name:  "history-empty",
			md:    History("prod", nil),
			allow: mdtest.Allow{Headings: []string{"Sync history of prod"}},
		},
		{
			name: "history-plain",
			md: History("prod", []history.Sync{{ID: 12, Revision: sha2, PR: 41, Result: history.Succeeded, Trigger: "merge", Merger: "octocat", Started: postTime},
				{ID: 11, Revision: "abc", Result: history.Failed, Trigger: "self-heal", Started: postTime.Add(-time.Hour)}}),
			// The pull request is referenced; its merger is not mentioned.
			allow: mdtest.Allow{Headings: []string{"Sync history of prod"}, Mentions: []string{"#41"}},
			shows: []string{"@octocat"},
		},
	})
}
