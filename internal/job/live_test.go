package job

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/syncer"
	"github.com/ferry-gitops/ferry/internal/work"
)

func liveCM(name, token string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name, "namespace": "prod"}, "data": map[string]any{"token": token}}
}

// TestLiveDiffMasks: both sides of a live diff pass through the masker
// before they are diffed; without one (nil) they are diffed as they are.
func TestLiveDiffMasks(t *testing.T) {
	key := func(name string) manifest.Key { return manifest.Key{Kind: "ConfigMap", Namespace: "prod", Name: name} }
	los := []syncer.LiveObject{
		{Key: key("tracked"), Tracked: true, Live: liveCM("tracked", "live-token-1"), WouldBe: liveCM("tracked", "head-token-1")},
		{Key: key("untracked"), WouldBe: liveCM("untracked", "head-token-2")},
		// Outside the project: never read, never shown, counted.
		{Key: manifest.Key{Kind: "ConfigMap", Namespace: "kube-system", Name: "x"}, Err: fmt.Errorf("%w: namespace kube-system", syncer.ErrNotPermitted)},
	}
	masker := tokenMasker{}
	tests := []struct {
		name          string
		mask          diff.Masker
		want, notWant []string
	}{
		{"no masker", nil, []string{"-  token: live-token-1", "+  token: head-token-1", "+  token: head-token-2"}, nil},
		{"masker", masker, []string{"+  token: (redacted: test)"}, []string{"live-token-1", "head-token-1", "head-token-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The masker may change objects in place: give each run its own.
			run := make([]syncer.LiveObject, len(los))
			for i, lo := range los {
				run[i] = lo
				run[i].Live, run[i].WouldBe = clone(lo.Live), clone(lo.WouldBe)
			}
			r := preview.EnvironmentResult{Status: preview.Unchanged}
			read := liveDiff(&r, run, diff.Options{Context: 3, From: "live", To: "head", Mask: tt.mask})
			checkDiffText(t, r, tt.want, tt.notWant)
			if read != (unread{untracked: 1, refused: 1}) || r.Status == preview.Error {
				t.Errorf("unread %+v, status %s; want 1 untracked, 1 refused, no error", read, r.Status)
			}
		})
	}
}

// tokenMasker masks the test's tokens, as secrets.Masker masks real ones.
type tokenMasker struct{}

func (tokenMasker) MaskText(text string) string {
	return regexp.MustCompile(`(live|head)-token-\d`).ReplaceAllString(text, "(redacted: test)")
}

func clone(obj map[string]any) map[string]any {
	if obj == nil {
		return nil
	}
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		out[k] = v
	}
	return out
}

// TestLiveDefinitions: what judges a pull request and where a live diff
// reads come from the default branch, whatever branch the pull request is
// into and whatever its head or base defines.
func TestLiveDefinitions(t *testing.T) {
	f := newFixture(t)
	app := func(name, ns string) string {
		return "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: " + name + "\nspec:\n  source:\n    path: " + name +
			"\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: " + ns + "\n"
	}
	f.git.Commit(t, repoName, "main", map[string]string{"apps/web.yaml": app("web", "prod"), "web/cm.yaml": "kind: ConfigMap\n"}, "web")
	// release, which a writer may have filled with anything, and a pull
	// request into it.
	f.git.Commit(t, repoName, "release", map[string]string{"apps/web.yaml": app("web", "kube-system"), "apps/snoop.yaml": app("snoop", "kube-system")}, "release")
	pr := f.openPR(7, "release")
	ctx := context.Background()
	p := &Previews{Repos: f.repos, DB: f.db, Renderer: preview.InProcess{}, Logger: f.log}
	tests := []struct {
		name, defaultBranch string
		wantNS              string
		wantSnoop           bool
	}{
		{"pull request into another branch", "main", "prod", false},
		{"pull request into the default branch", "release", "kube-system", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := f.repo
			repo.DefaultBranch = tt.defaultBranch
			w := work.Preview{Repo: repo, Number: pr.Number, HeadSHA: pr.HeadSHA, BaseRef: "release"}
			snap, err := p.snapshot(ctx, w)
			if err != nil {
				t.Fatal(err)
			}
			defer snap.Close()
			defs := map[string]environment.Environment{}
			for _, e := range snap.defined.Environments {
				defs[e.Name] = e
			}
			if got := defs["web"].Destination.Namespace; got != tt.wantNS {
				t.Errorf("web's namespace %q, want %q", got, tt.wantNS)
			}
			if _, ok := defs["snoop"]; ok != tt.wantSnoop {
				t.Errorf("snoop defined: %v, want %v", ok, tt.wantSnoop)
			}
		})
	}
}

// checkDiffText: the diffs of r's resources show every string of want and
// none of notWant.
func checkDiffText(t *testing.T, r preview.EnvironmentResult, want, notWant []string) {
	t.Helper()
	var all strings.Builder
	for _, c := range r.Resources {
		all.WriteString(c.Diff)
	}
	for _, w := range want {
		if !strings.Contains(all.String(), w) {
			t.Errorf("diff lacks %q:\n%s", w, all.String())
		}
	}
	for _, w := range notWant {
		if strings.Contains(all.String(), w) {
			t.Errorf("diff shows %q:\n%s", w, all.String())
		}
	}
}
