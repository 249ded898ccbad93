package job

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/work"
)

// appOfAppsFiles is an automated root Application of a chart that renders
// a ConfigMap and the automated Application "child" (a chart whose mode
// the parent's values set).
func appOfAppsFiles(mode string) map[string]string {
	app := func(name, path, params string) string {
		return `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: ` + name + `
spec:
  source:
    repoURL: https://github.com/skillzmist/infrastructure
    targetRevision: main
    path: ` + path + params + `
  destination:
    server: https://kubernetes.default.svc
    namespace: aoa
  syncPolicy:
    automated: {prune: true}
    syncOptions: [CreateNamespace=true]
`
	}
	cm := func(name, value string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  mode: " + value + "\n"
	}
	return map[string]string{
		"apps/root.yaml":                 app("root", "parent", ""),
		"parent/Chart.yaml":              "apiVersion: v2\nname: parent\nversion: 0.1.0\n",
		"parent/values.yaml":             "mode: " + mode + "\n",
		"parent/templates/settings.yaml": cm("parent-settings", "{{ .Values.mode }}"),
		"parent/templates/child.yaml":    app("child", "child", "\n    helm:\n      parameters:\n      - {name: mode, value: {{ .Values.mode | quote }}}"),
		"child/Chart.yaml":               "apiVersion: v2\nname: child\nversion: 0.1.0\n",
		"child/values.yaml":              "mode: none\n",
		"child/templates/settings.yaml":  cm("child-settings", "{{ .Values.mode }}"),
	}
}

// TestAppOfAppsPlanAndSync: the default branch's registry holds the
// children a parent renders; a push changing only the parent's values
// syncs the child it changes; the parent's sync applies its own objects
// but not its Applications (no Argo CD controller, and no Application CRD,
// in the cluster); the child syncs its definition from the default branch.
func TestAppOfAppsPlanAndSync(t *testing.T) {
	f, h := newSyncFixture(t)
	ctx := context.Background()
	f.repos.Discovery = preview.DiscoverOptions{Renderer: preview.InProcess{Limits: render.DefaultLimits()}}
	h.Repos = f.repos
	first := f.git.Commit(t, repoName, "main", appOfAppsFiles("blue"), "app of apps")
	second := f.git.Commit(t, repoName, "main", map[string]string{"parent/values.yaml": "mode: green\n"}, "green")
	plans := &Plans{Repos: f.repos, DB: f.db, Queue: f.db, Logger: f.log}
	f.gh.Handle("repos/list-pull-requests-associated-with-commit", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "[]")
	})
	for _, env := range []string{"root", "child", "demo"} {
		if err := h.Handle(ctx, f.job(work.Sync{Repo: f.repo, Branch: "main", Commit: first, Environment: env, Trigger: work.TriggerMerge}.Spec())); err != nil {
			t.Fatalf("sync %s: %v", env, err)
		}
		syncs, err := f.db.Syncs(ctx, f.repo.FullName, env)
		if err != nil || len(syncs) != 1 || syncs[0].Result != history.Succeeded {
			t.Fatalf("sync of %s: %+v (%v)", env, syncs, err)
		}
		for _, k := range syncs[0].Applied {
			if strings.Contains(k, "Application") {
				t.Errorf("sync of %s applied %s", env, k)
			}
		}
		if env == "root" && !strings.Contains(strings.Join(syncs[0].Applied, " "), "parent-settings") {
			t.Errorf("root applied %v, want its ConfigMap", syncs[0].Applied)
		}
	}
	if err := plans.Handle(ctx, f.job(work.Push{Repo: f.repo, Branch: "main", Before: first, After: second}.Spec())); err != nil {
		t.Fatal(err)
	}
	planned := map[string]bool{}
	for _, j := range f.queued(work.KindSync) {
		var s work.Sync
		if err := json.Unmarshal(j.Args, &s); err != nil {
			t.Fatal(err)
		}
		if s.Commit == second {
			planned[s.Environment] = true
		}
	}
	if !planned["child"] || !planned["root"] || planned["demo"] {
		t.Errorf("a push of the parent's values planned %v, want root and child", planned)
	}
}
