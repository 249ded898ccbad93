package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/fetch"
	"github.com/ferry-gitops/ferry/internal/fetchtest"
	"github.com/ferry-gitops/ferry/internal/serverconfig"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// webChart is version's files of a small external chart: 0.2.0 adds a
// Service and changes the Deployment's image.
func webChart(version string) map[string]string {
	files := map[string]string{
		"values.yaml": "replicas: 1\nimage: nginx:1.25\n",
		"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: {{ .Values.image }}
`,
	}
	if version == "0.2.0" {
		files["values.yaml"] = "replicas: 1\nimage: nginx:1.27\n"
		files["templates/service.yaml"] = `apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`
	}
	return files
}

// chartApp is a multi-source Application: chart name at version from
// repoURL, with a value file from this repository through $values.
func chartApp(name, repoURL, chart, version string) string {
	return `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: ` + name + `
spec:
  project: default
  sources:
    - repoURL: ` + repoURL + `
      chart: ` + chart + `
      targetRevision: ` + version + `
      helm:
        valueFiles: [$values/values/` + name + `.yaml]
    - repoURL: https://github.com/skillzmist/infrastructure
      targetRevision: main
      ref: values
  destination:
    server: https://kubernetes.default.svc
    namespace: ` + name + "\n"
}

// TestExternalChartBump: a pull request bumping an allowed external chart
// shows the upgrade's per-resource diff; a second pull request on the same
// chart downloads nothing; a chart from a repository outside the allowlist
// fails with the setting that would allow it, and no request reaches it.
func TestExternalChartBump(t *testing.T) {
	charts, other := fetchtest.NewChartRepo(t), fetchtest.NewChartRepo(t)
	for _, v := range []string{"0.1.0", "0.2.0"} {
		charts.AddChart("web", v, webChart(v))
	}
	other.AddChart("evil", "1.0.0", webChart("0.1.0"))
	h := newHarnessWith(t, testrepo.Build(t), func(c *Config) {
		c.Settings = &serverconfig.Config{Repositories: fetch.Allowlist{{URL: charts.URL()}}}
	})
	h.git.Commit(t, repoName, "main", map[string]string{
		"apps/web.yaml": chartApp("web", charts.URL(), "web", "0.1.0"), "values/web.yaml": "replicas: 2\n"}, "web 0.1.0")

	h.git.Commit(t, repoName, "bump", map[string]string{"apps/web.yaml": chartApp("web", charts.URL(), "web", "0.2.0")}, "web 0.2.0")
	body := h.previewOf(1, "bump")
	for _, want := range []string{"web", "Service", "nginx:1.27", "nginx:1.25"} {
		if !strings.Contains(body, want) {
			t.Errorf("the bump's comment lacks %q:\n%s", want, body)
		}
	}
	if len(charts.Requests()) == 0 {
		t.Error("the chart repository saw no request for the bump")
	}

	charts.Reset()
	h.git.Commit(t, repoName, "values", map[string]string{"values/web.yaml": "replicas: 5\n"}, "five web replicas")
	if body := h.previewOf(2, "values"); !strings.Contains(body, "replicas: 5") {
		t.Errorf("the values change's comment lacks the new replicas:\n%s", body)
	}
	if got := charts.Requests(); len(got) != 0 {
		t.Errorf("a second render of a cached chart made requests %v", got)
	}

	h.git.Commit(t, repoName, "evil", map[string]string{
		"apps/evil.yaml": chartApp("evil", other.URL(), "evil", "1.0.0"), "values/evil.yaml": "replicas: 1\n"}, "evil")
	body = h.previewOf(3, "evil")
	if !strings.Contains(body, other.URL()) || !strings.Contains(body, "is not an allowed repository") {
		t.Errorf("the comment does not refuse the repository outside the allowlist:\n%s", body)
	}
	if c := h.completedCheck(h.headOf("evil")); c.Conclusion != "failure" {
		t.Errorf("ferry/diff on the refused chart: %s, want failure", c.Conclusion)
	}
	if got := other.Requests(); len(got) != 0 {
		t.Errorf("requests reached a repository outside the allowlist: %v", got)
	}
}

// previewOf opens pull request number from branch, waits for its
// ferry/diff check and returns its sticky comment.
func (h *harness) previewOf(number int, branch string) string {
	h.t.Helper()
	pr := h.openPR(number, branch)
	if code := h.deliver("pull_request", "opened", pr, "remote-"+itoa(number)); code != http.StatusAccepted {
		h.t.Fatalf("opened: status %d", code)
	}
	h.waitFor("ferry/diff on "+branch, func() bool { return h.completedCheck(pr.HeadSHA) != nil })
	comments := h.gh.Comments(owner, repoName, number)
	if len(comments) != 1 {
		h.t.Fatalf("%d comments on #%d, want 1", len(comments), number)
	}
	return comments[0].Body
}

// headOf is branch's head commit.
func (h *harness) headOf(branch string) string {
	h.t.Helper()
	sha, err := h.git.RevParse(repoName, branch)
	if err != nil {
		h.t.Fatal(err)
	}
	return sha
}
