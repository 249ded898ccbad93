package report

import (
	"bytes"
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/mdtest"
	"github.com/ferry-gitops/ferry/internal/preview"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	mdtest.Golden(t, name, got, *update)
}

func objects(t testing.TB, yaml string) []manifest.Object {
	t.Helper()
	if yaml == "" {
		return nil
	}
	objs, err := manifest.Parse([]byte(yaml), "manifests.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// envResult builds an environment's result the way preview does: by
// comparing two renders.
func envResult(t testing.TB, name, base, head string) preview.EnvironmentResult {
	t.Helper()
	e := preview.EnvironmentResult{
		Name:        name,
		Status:      preview.Unchanged,
		Touched:     true,
		Type:        environment.Kustomize,
		Path:        "overlays/" + name,
		Destination: environment.Destination{Server: "https://kubernetes.default.svc", Namespace: name},
		Resources:   []diff.Change{},
	}
	for _, c := range diff.Compare(objects(t, base), objects(t, head), diff.Options{}) {
		switch c.Change {
		case diff.Added:
			e.Counts.Added++
		case diff.Changed:
			e.Counts.Changed++
		case diff.Removed:
			e.Counts.Removed++
		default:
			e.Counts.Unchanged++
			continue
		}
		e.Status = preview.Changed
		e.Resources = append(e.Resources, c)
	}
	return e
}

const (
	deploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: payment-service
  namespace: %s
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: app
        image: registry.example.com/payment:%s
        env:
        - name: LOG_LEVEL
          value: info
`
	secretYAML = `apiVersion: v1
kind: Secret
metadata:
  name: db-credentials
  namespace: %s
data:
  password: %s
  username: YWRtaW4=
`
	configMapYAML = `apiVersion: v1
kind: ConfigMap
metadata:
  name: feature-flags
  namespace: %s
data:
  checkout: "true"
`
	serviceYAML = `apiVersion: v1
kind: Service
metadata:
  name: payment-service
  namespace: %s
spec:
  ports:
  - port: 80
    targetPort: 8080
`
	namespaceYAML = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n"
)

// The base64 values of the test Secret; they must appear nowhere.
const (
	oldPassword = "c3VwZXItc2VjcmV0LTE=" // super-secret-1
	newPassword = "c3VwZXItc2VjcmV0LTI=" // super-secret-2
)

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

// multiEnv is a typical preview: one environment with a rollout and a
// Secret rotation, a new environment, a removed one, a render error, an
// external Application, and unchanged environments.
func multiEnv(t testing.TB) *preview.Result {
	t.Helper()
	prod := envResult(t, "production",
		sprintf(deploymentYAML, "production", "1.4.2")+"---\n"+sprintf(secretYAML, "production", oldPassword)+"---\n"+sprintf(serviceYAML, "production"),
		sprintf(deploymentYAML, "production", "1.5.0")+"---\n"+sprintf(secretYAML, "production", newPassword)+"---\n"+sprintf(serviceYAML, "production")+"---\n"+sprintf(configMapYAML, "production"))
	staging := envResult(t, "staging", sprintf(deploymentYAML, "staging", "1.5.0"), sprintf(deploymentYAML, "staging", "1.5.0"))
	dev := envResult(t, "dev", "", "")
	dev.Touched = false
	previewEnv := envResult(t, "preview-42", "", sprintf(namespaceYAML, "preview-42")+"---\n"+sprintf(serviceYAML, "preview-42"))
	previewEnv.Lifecycle = "added"
	legacy := envResult(t, "legacy", sprintf(configMapYAML, "legacy"), "")
	legacy.Lifecycle = "removed"
	qa := preview.EnvironmentResult{
		Name:      "qa",
		Status:    preview.Error,
		Touched:   true,
		Type:      environment.Helm,
		Path:      "charts/payment",
		Error:     "template: payment/templates/deployment.yaml:12:20: executing \"payment/templates/deployment.yaml\" at <.Values.image.tag>: nil pointer evaluating interface {}.tag",
		ErrorFile: "charts/payment/templates/deployment.yaml",
		ErrorLine: 12,
		Resources: []diff.Change{},
	}
	external := preview.EnvironmentResult{
		Name:        "shared-ingress",
		Status:      preview.External,
		Destination: environment.Destination{Name: "in-cluster", Namespace: "ingress"},
		Resources:   []diff.Change{},
	}
	return &preview.Result{
		Base:         "1111111111111111111111111111111111111111",
		Head:         "2222222222222222222222222222222222222222",
		ChangedFiles: []string{"overlays/production/kustomization.yaml", "overlays/preview-42/kustomization.yaml"},
		Environments: []preview.EnvironmentResult{prod, previewEnv, legacy, qa, staging, dev, external},
		Skipped:      []string{"apps/broken.yaml: not a valid Application: spec.source missing"},
	}
}

// bigResult has one environment whose diffs add up to about 200,000
// characters, and a second small one after it.
func bigResult(t testing.TB) *preview.Result {
	t.Helper()
	var base, head strings.Builder
	for i := range 100 {
		fmt.Fprintf(&base, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%03d\n  namespace: production\ndata:\n", i)
		fmt.Fprintf(&head, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%03d\n  namespace: production\ndata:\n", i)
		for j := range 40 {
			fmt.Fprintf(&base, "  key-%02d: value number %d of map %d\n", j, j, i)
			fmt.Fprintf(&head, "  key-%02d: changed value %d of map %d\n", j, j, i)
		}
	}
	prod := envResult(t, "production", base.String(), head.String())
	staging := envResult(t, "staging", sprintf(deploymentYAML, "staging", "1"), sprintf(deploymentYAML, "staging", "2"))
	return &preview.Result{Base: "b", Head: "h", Environments: []preview.EnvironmentResult{prod, staging}}
}

var goldenOptions = MarkdownOptions{
	Title:  "ferry diff",
	Marker: "<!-- ferry:diff -->",
	Footer: "<sub>Rendered 7 environments in 1.2s at 2222222.</sub>",
}

func TestMarkdownGolden(t *testing.T) {
	r := multiEnv(t)
	got := Markdown(r, goldenOptions)
	golden(t, "multi.md.golden", []byte(got))
	checkMarkdown(t, got)
	for _, secret := range []string{oldPassword, newPassword, "super-secret", "YWRtaW4=", "admin"} {
		if strings.Contains(got, secret) {
			t.Errorf("comment contains secret value %q", secret)
		}
	}
}

func TestMarkdownTruncatedGolden(t *testing.T) {
	r := bigResult(t)
	full := Markdown(r, MarkdownOptions{Title: "ferry diff"})
	if len(full) < 200000 {
		t.Fatalf("fixture is only %d bytes", len(full))
	}
	got := Markdown(r, MarkdownOptions{Title: "ferry diff", Marker: "<!-- ferry:diff -->", MaxChars: GitHubCommentLimit})
	golden(t, "truncated.md.golden", []byte(got))
	if len(got) > GitHubCommentLimit {
		t.Errorf("len = %d, over the limit", len(got))
	}
	checkMarkdown(t, got)
	checkBlocksWhole(t, r, got)
	for _, want := range []string{
		"| `production` | 0 | 100 | 0 | 🔶 changed |",
		"| `staging` | 0 | 1 | 0 | 🔶 changed |",
		"more resources: `production`: ConfigMap production/cm",
		"more; the full diff is in the `ferry/diff` check run.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("truncated comment lacks %q", want)
		}
	}
	// The budget should be used, not wasted: at most one more diff of
	// about 2,000 characters would have fitted.
	if len(got) < GitHubCommentLimit-5000 {
		t.Errorf("len = %d, leaves too much of the budget unused", len(got))
	}
}

// TestMarkdownHugeSingleDiff: one resource whose diff alone is over the
// limit is named, never cut.
func TestMarkdownHugeSingleDiff(t *testing.T) {
	var base, head strings.Builder
	base.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: huge\n  namespace: production\ndata:\n")
	head.WriteString(base.String())
	for i := range 3000 {
		fmt.Fprintf(&base, "  key-%04d: old value %d\n", i, i)
		fmt.Fprintf(&head, "  key-%04d: new value %d\n", i, i)
	}
	r := &preview.Result{Environments: []preview.EnvironmentResult{envResult(t, "production", base.String(), head.String())}}
	if n := len(r.Environments[0].Resources[0].Diff); n < 150000 {
		t.Fatalf("fixture diff is only %d bytes", n)
	}
	got := Markdown(r, MarkdownOptions{Title: "ferry diff", MaxChars: GitHubCommentLimit})
	checkMarkdown(t, got)
	want := "### ferry diff\n\n1 of 1 environment changes: +0 ~1 -0 resources\n\n" +
		"| Environment | Added | Changed | Removed | Status |\n| :-- | --: | --: | --: | :-- |\n" +
		"| `production` | 0 | 1 | 0 | 🔶 changed |\n\n" +
		"… and 1 more resource: `production`: ConfigMap production/huge; the full diff is in the `ferry/diff` check run.\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestNilResult(t *testing.T) {
	if got := Markdown(nil, MarkdownOptions{}); got != "No changes\n" {
		t.Errorf("Markdown(nil) = %q", got)
	}
	if _, err := JSON(nil); err != nil {
		t.Errorf("JSON(nil): %v", err)
	}
	var buf bytes.Buffer
	if err := Text(&buf, nil, false); err != nil || buf.String() != "No changes\n" {
		t.Errorf("Text(nil) = %q, %v", buf.String(), err)
	}
}

func TestMarkdown(t *testing.T) {
	secret := envResult(t, "production", sprintf(secretYAML, "production", oldPassword), sprintf(secretYAML, "production", newPassword))
	backticks := preview.EnvironmentResult{
		Name: "web", Status: preview.Changed, Touched: true, Counts: preview.Counts{Changed: 1},
		Resources: []diff.Change{{
			Key:    manifest.Key{Kind: "ConfigMap", Namespace: "web", Name: "docs"},
			Change: diff.Changed,
			Diff:   "--- a\n+++ b\n@@ -1 +1 @@\n-  readme: |\n+ ```\n+````sh\n",
		}},
	}
	hostile := preview.EnvironmentResult{
		Name: "evil</summary></details>|`x`\n# hi", Status: preview.Changed, Touched: true, Counts: preview.Counts{Added: 1},
		Resources: []diff.Change{{
			Key:    manifest.Key{Kind: "ConfigMap", Namespace: "ns", Name: "**bold** @octocat <img src=x>"},
			Change: diff.Added,
			Diff:   "--- a\n+++ b\n@@ -0,0 +1 @@\n+x\n",
		}},
	}
	brokenBase := envResult(t, "canary", "", sprintf(serviceYAML, "canary"))
	brokenBase.BaseError = "kustomize build: accumulating resources: missing file"
	var many []preview.EnvironmentResult
	for i := range 12 {
		e := envResult(t, fmt.Sprintf("env-%02d", i), "", "")
		if i == 3 {
			e = envResult(t, "env-03", sprintf(configMapYAML, "a"), "")
		}
		many = append(many, e)
	}
	tests := []struct {
		name    string
		r       *preview.Result
		want    []string
		notWant []string
	}{
		{
			name:    "no changes",
			r:       &preview.Result{Environments: []preview.EnvironmentResult{envResult(t, "a", "", ""), envResult(t, "b", "", "")}},
			want:    []string{"### ferry diff\n\nNo changes\n", "| `a` | 0 | 0 | 0 | ✅ unchanged |"},
			notWant: []string{"<details"},
		},
		{
			name: "a single changed environment is open",
			r:    &preview.Result{Environments: []preview.EnvironmentResult{secret}},
			want: []string{
				"1 of 1 environment changes: +0 ~1 -0 resources",
				"<details open><summary><b>production</b> — +0 ~1 -0</summary>",
				"**~ Secret production/db-credentials**\n\nSecret keys changed: `password` (values hidden)\n\n```diff\n",
				"-  password: (redacted)\n+  password: (redacted, changed)\n",
			},
			notWant: []string{oldPassword, newPassword, "YWRtaW4="},
		},
		{
			name: "a diff holding backticks gets a longer fence",
			r:    &preview.Result{Environments: []preview.EnvironmentResult{backticks}},
			want: []string{"`````diff\n--- a\n", "+````sh\n`````\n"},
		},
		{
			name: "names cannot inject markup",
			r:    &preview.Result{Environments: []preview.EnvironmentResult{hostile}},
			want: []string{
				"<summary><b>evil&lt;/summary&gt;&lt;/details&gt;|`x` #\u200b hi</b>",
				"| ``evil</summary></details>\\|`x` # hi`` |",
				"**+ ConfigMap ns/\\*\\*bold\\*\\* @\u200boctocat \\<img src=x\\>**",
			},
		},
		{
			name: "a base that failed to render is explained",
			r:    &preview.Result{Environments: []preview.EnvironmentResult{brokenBase}},
			want: []string{
				"| `canary` | 1 | 0 | 0 | 🔶 changed (base failed to render) |",
				"</summary>\n\n⚠️ The base revision failed to render, so every resource is compared against nothing:\n\n```\nkustomize build: accumulating resources: missing file\n```\n\n**+ Service canary/payment-service**",
			},
		},
		{
			name: "many environments fold the unchanged ones",
			r:    &preview.Result{Environments: many},
			want: []string{
				"| `env-03` | 0 | 0 | 1 | 🔶 changed |",
				"<details><summary>✅ 11 unchanged environments</summary>\n\n`env-00`, `env-01`, `env-02`, `env-04`",
			},
			notWant: []string{"| `env-00`"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Markdown(tt.r, MarkdownOptions{Title: "ferry diff"})
			checkMarkdown(t, got)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("lacks %q in:\n%s", w, got)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("contains %q in:\n%s", w, got)
				}
			}
		})
	}
}

func TestJSONGolden(t *testing.T) {
	got, err := JSON(multiEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "multi.json.golden", got)
	again, err := JSON(multiEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, again) {
		t.Error("JSON is not deterministic")
	}
	if strings.Contains(string(got), `"change": "unchanged"`) {
		t.Error("JSON lists unchanged resources")
	}
	for _, secret := range []string{oldPassword, newPassword, "YWRtaW4="} {
		if strings.Contains(string(got), secret) {
			t.Errorf("JSON contains secret value %q", secret)
		}
	}
}

func TestTextGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := Text(&buf, multiEnv(t), false); err != nil {
		t.Fatal(err)
	}
	golden(t, "multi.txt.golden", buf.Bytes())
	if strings.Contains(buf.String(), "\x1b") {
		t.Error("plain text output contains escape sequences")
	}
}

func TestTextColor(t *testing.T) {
	r := &preview.Result{Environments: []preview.EnvironmentResult{{
		Name: "prod", Status: preview.Changed, Touched: true, Counts: preview.Counts{Changed: 1},
		Resources: []diff.Change{{
			Key:    manifest.Key{Kind: "ConfigMap", Namespace: "prod", Name: "cfg"},
			Change: diff.Changed,
			Diff:   "--- base/cfg\n+++ head/cfg\n@@ -1,2 +1,2 @@\n a: 1\n-b: \x1b]0;pwned\x07\n+b: 3\n",
		}},
	}}}
	var buf bytes.Buffer
	if err := Text(&buf, r, true); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	tests := []struct{ line, want string }{
		{"prod: changed", ansiBold + "prod: changed (+0 ~1 -0)" + ansiReset},
		{"@@", ansiCyan + "@@ -1,2 +1,2 @@" + ansiReset},
		{" a: 1", " a: 1"},
		{"-b", ansiRed + `-b: \x1b]0;pwned\x07` + ansiReset},
		{"+b", ansiGreen + "+b: 3" + ansiReset},
		{"--- base", ansiBold + "--- base/cfg" + ansiReset},
	}
	for _, tt := range tests {
		found := false
		for _, l := range lines {
			if strings.Contains(l, tt.line) {
				found = true
				if l != tt.want {
					t.Errorf("line %q = %q, want %q", tt.line, l, tt.want)
				}
				break
			}
		}
		if !found {
			t.Errorf("no line with %q in:\n%s", tt.line, buf.String())
		}
	}
	if strings.Contains(buf.String(), "\x1b]") || strings.Contains(buf.String(), "\x07") {
		t.Error("a control sequence from the manifest reached the terminal")
	}
}

func BenchmarkMarkdown(b *testing.B) {
	r := bigResult(b)
	b.ReportAllocs()
	for b.Loop() {
		if len(Markdown(r, MarkdownOptions{Title: "ferry diff", MaxChars: GitHubCommentLimit})) > GitHubCommentLimit {
			b.Fatal("over the limit")
		}
	}
}

func TestBaseErrorTextAndJSON(t *testing.T) {
	e := envResult(t, "canary", "", sprintf(serviceYAML, "canary"))
	e.BaseError = "kustomize build: missing file"
	r := &preview.Result{Environments: []preview.EnvironmentResult{e}}
	js, err := JSON(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"baseError": "kustomize build: missing file"`) {
		t.Errorf("JSON lacks baseError:\n%s", js)
	}
	var buf bytes.Buffer
	if err := Text(&buf, r, false); err != nil {
		t.Fatal(err)
	}
	if want := "canary: changed (+1 ~0 -0)\n  base failed to render, compared against nothing: kustomize build: missing file\n"; !strings.HasPrefix(buf.String(), want) {
		t.Errorf("text starts %q, want %q", buf.String(), want)
	}
}
