package job

import (
	"context"
	"testing"

	"github.com/ferry-gitops/ferry/internal/chatops"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/work"
)

func TestTargets(t *testing.T) {
	tests := []struct {
		rev, branch string
		want        bool
	}{
		{"", "main", true}, {"HEAD", "main", true}, {"", "dev", false},
		{"main", "main", true}, {"refs/heads/release", "release", true}, {"release", "main", false},
	}
	for _, tt := range tests {
		g := &registry{branch: "main"}
		if got := g.targetBranch(environment.Environment{TargetRevision: tt.rev}) == tt.branch; got != tt.want {
			t.Errorf("targetRevision %q on push to %s: %v, want %v", tt.rev, tt.branch, got, tt.want)
		}
	}
}

func TestPickRevision(t *testing.T) {
	syncs := []history.Sync{ // newest first
		{ID: 5, Revision: "eeee5555", Result: history.Succeeded},
		{ID: 4, Revision: "dddd4444", Result: history.Failed},
		{ID: 3, Revision: "cccc3333", Result: history.Succeeded},
		{ID: 2, Revision: "eeee5555", Result: history.Succeeded},
	}
	tests := []struct {
		revision string
		wantID   int64
		wantErr  bool
	}{
		{"", 3, false},       // the one before the current: newest succeeded other revision
		{"#4", 4, false},     // by history id
		{"dddd", 4, false},   // by SHA prefix
		{"#9", 0, true},      // unknown id
		{"abcdef0", 0, true}, // never synced
	}
	for _, tt := range tests {
		got, err := pickRevision(syncs, chatops.Command{Name: chatops.RollbackCmd, Env: "prod", Revision: tt.revision})
		if (err != nil) != tt.wantErr || (err == nil && got.ID != tt.wantID) {
			t.Errorf("revision %q: got #%d, err %v; want #%d, error %v", tt.revision, got.ID, err, tt.wantID, tt.wantErr)
		}
	}
	if _, err := pickRevision(nil, chatops.Command{Env: "prod"}); err == nil {
		t.Error("no history: want a refusal")
	}
}

// TestSyncTrigger: why a push syncs an environment; a merged rollback pull
// request (ferry's own branch) syncs as a rollback.
func TestSyncTrigger(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first := f.head("main")
	second := f.git.Commit(t, repoName, "main", map[string]string{"charts/payment-service/values.yaml": "replicas: 4\n"}, "values")
	dir, _, err := f.repos.fetchBranch(ctx, f.repo, "main")
	if err != nil {
		t.Fatal(err)
	}
	before, err := repofs.OpenGit(ctx, dir, first)
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	after, err := repofs.OpenGit(ctx, dir, second)
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()
	trees := &pushTrees{before: before, after: after, changed: repofs.Changed(before, after)}
	chart := environment.Environment{Name: "payment-service", Type: environment.Helm, Path: "charts/payment-service"}
	other := environment.Environment{Name: "elsewhere", Type: environment.Directory, Path: "nothing-here"}
	rollback := &github.PullRequest{Number: 9, HeadRef: "ferry/rollback-payment-service-abc"}
	feature := &github.PullRequest{Number: 8, HeadRef: "feature"}
	tests := []struct {
		name string
		env  environment.Environment
		seen bool
		pr   *github.PullRequest
		want string // "" = not synced
	}{
		{"never synced", other, false, nil, work.TriggerFirstSight},
		{"untouched", other, true, feature, ""},
		{"merge", chart, true, feature, work.TriggerMerge},
		{"merge without a pull request", chart, true, nil, work.TriggerMerge},
		{"rollback pull request", chart, true, rollback, work.TriggerRollback},
	}
	for _, tt := range tests {
		got, ok := syncTrigger(tt.env, trees, tt.seen, tt.pr)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("%s: %q %v, want %q", tt.name, got, ok, tt.want)
		}
	}
}
