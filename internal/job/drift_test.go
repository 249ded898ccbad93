package job

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/drift"
	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/secrets"
)

type memState map[string]string

func (m memState) Get(_ context.Context, ns, key string) (string, bool, error) {
	v, ok := m[ns+"/"+key]
	return v, ok, nil
}

func (m memState) Put(_ context.Context, ns, key, value string) error {
	m[ns+"/"+key] = value
	return nil
}

// issueRecorder is a DriftGitHub that keeps the bodies it is sent.
type issueRecorder struct{ bodies []string }

func (r *issueRecorder) CreateIssue(_ context.Context, _ github.Repo, _, body string) (int, error) {
	r.bodies = append(r.bodies, body)
	return len(r.bodies), nil
}

func (r *issueRecorder) EditIssue(_ context.Context, _ github.Repo, _ int, body, _ string) error {
	r.bodies = append(r.bodies, body)
	return nil
}

// TestDriftIssueMasksValues: a drift issue shows the drifted fields' values
// in Git and live; a token among them is masked, the rest shown.
func TestDriftIssueMasksValues(t *testing.T) {
	rules, err := secrets.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	masker, err := rules.Masker()
	if err != nil {
		t.Fatal(err)
	}
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
			gh := &issueRecorder{}
			d := &Drift{Client: func(int64) (DriftGitHub, error) { return gh, nil }, State: memState{}, Mask: tt.mask}
			if err := d.report(context.Background(), ev, SyncArgs{Repo: "acme/infra", Environment: "prod", Commit: "abc"}); err != nil {
				t.Fatal(err)
			}
			if len(gh.bodies) != 1 {
				t.Fatalf("%d issue bodies, want 1", len(gh.bodies))
			}
			body := gh.bodies[0]
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
