package report

import (
	"time"

	"testing"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/mdtest"
	"github.com/ferry-gitops/ferry/internal/preview"
)

func TestLivePosts(t *testing.T) {
	live := &preview.Result{Base: "live cluster", Head: sha2, Environments: []preview.EnvironmentResult{
		{Name: "prod", Touched: true, Status: preview.Changed, Counts: preview.Counts{Changed: 1, Unchanged: 2}, Resources: []diff.Change{
			{Key: depKey, Change: diff.Changed, Diff: "--- live\n+++ head\n@@ -1,3 +1,3 @@\n spec:\n-  replicas: 5\n+  replicas: 3\n"},
		}},
		{Name: "staging", Touched: true, Status: preview.Error, Resources: []diff.Change{}, Error: "no cluster configured"},
	}}
	checkPosts(t, []post{
		{
			name:  "live-unavailable",
			md:    LiveUnavailable(evilName),
			allow: mdtest.Allow{Headings: []string{liveTitle}},
			shows: []string{evilName},
		},
		{
			// Notes in order; an environment read in full has none.
			name: "live-section",
			md: LiveSection(Live{Result: live, Branch: "main", Notes: []LiveNote{
				{Environment: "prod", Untracked: 2}, {Environment: evilName, Undefined: true}, {Environment: "staging"},
			}}),
			allow: mdtest.Allow{Headings: []string{liveTitle}},
			shows: []string{evilName},
		},
		{
			name:  "live-section-quiet",
			md:    LiveSection(Live{Result: &preview.Result{Base: "live cluster", Head: sha2}, Branch: "main"}),
			allow: mdtest.Allow{Headings: []string{liveTitle}},
		},
	})
}

func TestPreviewFooter(t *testing.T) {
	checkPosts(t, []post{{name: "preview-footer", md: PreviewFooter(sha, sha2, 1234567*time.Microsecond)}})
}
