package job

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/drift"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/work"
)

// TestDriftIssueMasksValues: a drift issue shows the drifted fields' values
// in Git and live; a token among them is masked, the rest shown.
func TestDriftIssueMasksValues(t *testing.T) {
	_, masker := secretRules(t)
	// Assembled at run time so this file holds no token-shaped string.
	gitToken, liveToken := "ghp_"+"FerryDriftGitQ9tLm2xVb7nR4kWc8zYp3sHd", "ghp_"+"FerryDriftLiveQ9tLm2xVb7nR4kWc8zYp3sH"
	ev := drift.Event{App: "prod", Key: manifest.Key{Kind: "ConfigMap", Namespace: "prod", Name: "cloud"}, Kind: drift.Modified,
		Fields: []string{"data.github_token", "data.region"}, Managers: []string{"kubectl-edit"}, Time: time.Unix(0, 0),
		Want: map[string]any{"data.github_token": gitToken, "data.region": "eu-west-1"},
		Live: map[string]any{"data.github_token": liveToken, "data.region": "us-east-1"}}
	for _, tt := range []struct {
		name  string
		mask  diff.Masker
		shown bool
	}{
		{"no masker", nil, true},
		{"masker", masker, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			d := &Drift{Repos: f.repos, DB: f.db, Mask: tt.mask, Logger: f.log}
			if err := d.report(context.Background(), ev, work.Sync{Repo: f.repo, Environment: "prod", Commit: "abc"}); err != nil {
				t.Fatal(err)
			}
			issues := f.gh.Issues(owner, repoName)
			if len(issues) != 1 {
				t.Fatalf("%d issues, want 1", len(issues))
			}
			body := issues[0].Body
			if n, err := f.db.DriftIssue(context.Background(), f.repo.FullName, "prod"); err != nil || n != issues[0].Number {
				t.Errorf("stored drift issue %d (%v), want %d", n, err, issues[0].Number)
			}
			if shown := strings.Contains(body, gitToken) || strings.Contains(body, liveToken); shown != tt.shown {
				t.Errorf("tokens shown: %v, want %v:\n%s", shown, tt.shown, body)
			}
			for _, want := range []string{"eu-west-1", "us-east-1", "data.github_token"} {
				if !strings.Contains(body, want) {
					t.Errorf("the issue lacks %q:\n%s", want, body)
				}
			}
			if !tt.shown && !strings.Contains(body, "ghp_… (redacted: github-pat)") {
				t.Errorf("the issue does not say a token was masked:\n%s", body)
			}
		})
	}
}
