package environment_test

import (
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// TestDiscoverAppProjects: AppProjects are found beside Applications, with
// where they are defined; one that can't be read is named, so its
// environments are refused rather than deployed without it.
func TestDiscoverAppProjects(t *testing.T) {
	files := map[string]string{
		"projects/team.yaml": `# the team's project
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: team}
spec:
  sourceRepos: ["*"]
  destinations: [{server: "*", namespace: "team-*"}]
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: broken}
spec:
  syncWindows: [{kind: deny, schedule: "not cron", duration: 1h}]
`,
	}
	got, err := environment.Discover(testrepo.Tree(t, files), environment.DiscoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Projects) != 1 || got.Projects[0].Name != "team" || got.Projects[0].Source != "projects/team.yaml:2" ||
		got.Projects[0].Destinations[0].Namespace != "team-*" {
		t.Errorf("projects %+v", got.Projects)
	}
	if len(got.BrokenProjects) != 1 || got.BrokenProjects[0].Name != "broken" || !strings.Contains(got.BrokenProjects[0].Reason, "projects/team.yaml:9") ||
		!strings.Contains(got.BrokenProjects[0].Reason, `schedule "not cron"`) {
		t.Errorf("broken projects %+v", got.BrokenProjects)
	}
}
