package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/preview"
)

const (
	migrateJobYAML = `apiVersion: batch/v1
kind: Job
metadata:
  name: db-migrate
  namespace: %s
  annotations:
    argocd.argoproj.io/hook: PreSync
    argocd.argoproj.io/hook-delete-policy: HookSucceeded
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: registry.example.com/payment-migrate:%s
`
	smokeTestYAML = `apiVersion: v1
kind: Pod
metadata:
  name: smoke-test
  namespace: %s
  annotations:
    helm.sh/hook: post-install,post-upgrade
spec:
  containers:
  - name: curl
    image: curlimages/curl:%s
`
	helmTestYAML = `apiVersion: v1
kind: Pod
metadata:
  name: connection-test
  namespace: %s
  annotations:
    helm.sh/hook: test
spec:
  containers:
  - name: wget
    image: busybox:1
`
)

// hooksResult is a preview whose environments change sync hooks: one with a
// rollout guarded by a PreSync migration and a Helm post-upgrade smoke test
// (and a Helm test hook that is never applied), one where only the hook
// changes.
func hooksResult(t testing.TB) *preview.Result {
	t.Helper()
	prod := envResult(t, "production",
		sprintf(migrateJobYAML, "production", "41")+"---\n"+sprintf(deploymentYAML, "production", "1.4.2"),
		sprintf(migrateJobYAML, "production", "42")+"---\n"+sprintf(deploymentYAML, "production", "1.5.0")+"---\n"+
			sprintf(smokeTestYAML, "production", "8.5.0")+"---\n"+sprintf(helmTestYAML, "production"))
	staging := envResult(t, "staging",
		sprintf(migrateJobYAML, "staging", "41")+"---\n"+sprintf(deploymentYAML, "staging", "1.5.0"),
		sprintf(migrateJobYAML, "staging", "42")+"---\n"+sprintf(deploymentYAML, "staging", "1.5.0"))
	return &preview.Result{Base: "1111111", Head: "2222222", Environments: []preview.EnvironmentResult{prod, staging}}
}

func TestHooksGolden(t *testing.T) {
	r := hooksResult(t)
	opts := goldenOptions
	opts.Footer = "<sub>Rendered 2 environments in 0.4s at 2222222.</sub>"
	md := Markdown(r, opts)
	golden(t, "hooks.md.golden", []byte(md))
	checkMarkdown(t, md)
	var buf bytes.Buffer
	if err := Text(&buf, r, false); err != nil {
		t.Fatal(err)
	}
	golden(t, "hooks.txt.golden", buf.Bytes())

	// Each environment lists its hooks once, after its resources.
	for _, env := range strings.Split(md, "<details")[1:] {
		heading := strings.Index(env, hooksHeading)
		if strings.Count(env, hooksHeading) != 1 {
			t.Errorf("an environment section has %d hook headings, want 1:\n%s", strings.Count(env, hooksHeading), env)
			continue
		}
		if d := strings.Index(env, "apps/Deployment"); d > heading {
			t.Errorf("the Deployment is listed among the hooks:\n%s", env)
		}
	}
	// By phase: the PreSync migration, the PostSync smoke test, then the
	// hook that never runs.
	last := -1
	for _, want := range []string{"batch/Job production/db-migrate** — PreSync hook", "Pod production/smoke-test** — PostSync hook",
		"Pod production/connection-test** — hook of no phase Argo CD runs: never applied"} {
		i := strings.Index(md, want)
		if i < last {
			t.Errorf("comment lacks %q, or lists it out of phase order", want)
		}
		last = i
	}
}
