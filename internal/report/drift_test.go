package report

import (
	"testing"

	"github.com/ferry-gitops/ferry/internal/drift"
	"github.com/ferry-gitops/ferry/internal/mdtest"
)

func TestDriftPosts(t *testing.T) {
	checkPosts(t, []post{
		{
			name: "drift-issue",
			md: DriftIssue(drift.Event{App: evilName, Key: evilKey, Kind: drift.Modified, Fields: []string{"data.a|b", "data.@org/team"},
				Managers: []string{"kubectl @org/team", "x|y"}, Time: postTime, Live: map[string]any{"data.x": evilReason}, Want: map[string]any{"data.x": "v"}},
				evilName, sha),
			shows: []string{evilName, evilObject, "data.@org/team", "kubectl @org/team", "x|y"},
		},
		{
			// Nothing drifted field by field, nobody to blame: dashes.
			name: "drift-issue-deleted",
			md:   DriftIssue(drift.Event{App: "prod", Key: depKey, Kind: drift.Deleted, Time: postTime}, "prod", sha2),
		},
		{
			name: "drift-issue-fields",
			md: DriftIssue(drift.Event{App: "prod", Key: depKey, Kind: drift.Modified, Fields: []string{"spec.replicas", "spec.template.spec.containers[name=app].image"},
				Managers: []string{"kubectl-edit"}, Time: postTime, Want: map[string]any{"spec.replicas": 3, "spec.template.spec.containers[name=app].image": "api:1"},
				Live: map[string]any{"spec.replicas": 5}}, "prod", sha2),
			shows: []string{"spec.template.spec.containers[name=app].image"},
		},
		{
			name:  "drift-resolved",
			md:    DriftResolved(evilName, sha2),
			allow: mdtest.Allow{},
			shows: []string{evilName},
		},
	})
}
