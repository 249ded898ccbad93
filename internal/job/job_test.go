package job

import (
	"testing"

	"github.com/ferry-gitops/ferry/internal/chatops"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/history"
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
		if got := targets(environment.Environment{TargetRevision: tt.rev}, tt.branch, "main"); got != tt.want {
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
