package work

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/ferry-gitops/ferry/internal/chatops"
	"github.com/ferry-gitops/ferry/internal/queue"
)

var repo = Repo{InstallationID: 7, FullName: "acme/infra", CloneURL: "https://github.com/acme/infra.git", HTMLURL: "https://github.com/acme/infra", DefaultBranch: "main"}

type specer interface {
	Args
	Spec() (queue.Spec, error)
}

// TestWorkSpecs: each record's queue entry, its key, and what it refuses.
func TestWorkSpecs(t *testing.T) {
	sync := Sync{Repo: repo, Branch: "main", Commit: "abc", Environment: "prod", Trigger: TriggerMerge}
	tests := []struct {
		name      string
		args      specer
		kind, key string
		supersede bool
		wantErr   bool
	}{
		{"preview", Preview{Repo: repo, Number: 3, HeadSHA: "abc"}, KindPreview, "acme/infra#3", true, false},
		{"preview without head", Preview{Repo: repo, Number: 3}, "", "", false, true},
		{"preview without installation", Preview{Repo: Repo{FullName: "acme/infra"}, Number: 3, HeadSHA: "abc"}, "", "", false, true},
		{"refresh", Refresh{Repo: repo, BaseRef: "main"}, KindRefresh, "acme/infra@main", true, false},
		{"push", Push{Repo: repo, Branch: "main", After: "abc"}, KindPush, "acme/infra@main", false, false},
		{"push without commit", Push{Repo: repo, Branch: "main"}, "", "", false, true},
		{"sync", sync, KindSync, "acme/infra/env/prod", false, false},
		{"sync without environment", Sync{Repo: repo, Commit: "abc"}, "", "", false, true},
		{"revert", Revert{Sync: sync, Reason: "degraded"}, KindRevert, "acme/infra/env/prod", false, false},
		{"command", Command{Repo: repo, Number: 3, CommentID: 9}, KindCommand, "acme/infra#3", false, false},
		{"command without comment", Command{Repo: repo, Number: 3}, "", "", false, true},
		{"release", Release{Repo: repo, Environment: "prod"}, KindRelease, "acme/infra/env/prod", false, false},
		{"bad repository name", Release{Repo: Repo{InstallationID: 7, FullName: "infra"}, Environment: "prod"}, "", "", false, true},
	}
	for _, tt := range tests {
		spec, err := tt.args.Spec()
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err %v, want error %v", tt.name, err, tt.wantErr)
			continue
		}
		if err == nil && (spec.Kind != tt.kind || spec.Key != tt.key || spec.Supersede != tt.supersede) {
			t.Errorf("%s: %s %s supersede=%v, want %s %s %v", tt.name, spec.Kind, spec.Key, spec.Supersede, tt.kind, tt.key, tt.supersede)
		}
	}
}

// TestWorkDecode: records round-trip through the queue; what can't be read
// fails for good.
func TestWorkDecode(t *testing.T) {
	c := Command{Repo: repo, Number: 3, CommentID: 9, Author: "alice", Commands: []chatops.Command{{Name: chatops.LockCmd, Env: "prod", Reason: "freeze"}}}
	spec, err := c.Spec()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode[Command](queue.Job{Kind: spec.Kind, Args: spec.Args})
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Errorf("round trip: %+v (%v), want %+v", got, err, c)
	}
	for name, raw := range map[string]string{
		"not JSON":      `{"repo":`,
		"no repository": `{"installation_id": 7, "number": 3}`,
	} {
		if _, err := Decode[Preview](queue.Job{Kind: KindPreview, Args: []byte(raw)}); !queue.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", name, err)
		}
	}
}

// TestWorkReadsQueuedJobs: arguments queued by the release before the
// split (flat fields, no Repo value) read the same.
func TestWorkReadsQueuedJobs(t *testing.T) {
	old := `{"installation_id":7,"repo":"acme/infra","clone_url":"https://github.com/acme/infra.git","html_url":"https://github.com/acme/infra",` +
		`"branch":"main","commit":"abc","environment":"prod","trigger":"merge","pr":4,"actor":"bob","reason":"degraded"}`
	got, err := Decode[Revert](queue.Job{Kind: KindRevert, Args: []byte(old)})
	want := Revert{Sync: Sync{Repo: Repo{InstallationID: 7, FullName: "acme/infra", CloneURL: "https://github.com/acme/infra.git", HTMLURL: "https://github.com/acme/infra"},
		Branch: "main", Commit: "abc", Environment: "prod", Trigger: TriggerMerge, PR: 4, Actor: "bob"}, Reason: "degraded"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("old revert args: %+v (%v), want %+v", got, err, want)
	}
	oldPreview := `{"installation_id":7,"repo":"acme/infra","clone_url":"c","html_url":"h","number":3,"head_sha":"abc","base_ref":"main","author":"alice","live":true,"default_branch":"main"}`
	p, err := Decode[Preview](queue.Job{Kind: KindPreview, Args: []byte(oldPreview)})
	if err != nil || p.Number != 3 || p.HeadSHA != "abc" || p.BaseRef != "main" || p.Author != "alice" || !p.Live || p.DefaultBranch != "main" || p.InstallationID != 7 {
		t.Errorf("old preview args: %+v (%v)", p, err)
	}
}

func TestMergeGroupPullRequests(t *testing.T) {
	tests := []struct {
		ref, message string
		more         []string
		want         []int
	}{
		{"gh-readonly-queue/main/pr-104-929f8209d40f77f4abc622a499c93a83babdbe64", "Merge pull request #104 from octo/x", nil, []int{104}},
		{"gh-readonly-queue/main/pr-5-abc123", "Squashed (#5)", []string{"Other (#3)", "Fixes #5"}, []int{5, 3}},
		{"gh-readonly-queue/release/pr-12-ff", "", nil, []int{12}},
		{"feature", "no numbers", nil, nil},
	}
	for _, tt := range tests {
		got := MergeGroup{HeadRef: tt.ref, Message: tt.message}.PullRequests(tt.more...)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s %q: %v, want %v", tt.ref, tt.message, got, tt.want)
		}
	}
	if !IsQueueBranch("gh-readonly-queue/main/pr-1-a") || IsQueueBranch("main") {
		t.Error("IsQueueBranch")
	}
}
