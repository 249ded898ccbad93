package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// TestAppsAppOfApps: `ferry apps` (and render) lists the environments a parent's render
// defines, and --clusters FILE is what a rendered ApplicationSet's
// clusters generator selects from; a broken file is named with its line.
func TestAppsAppOfApps(t *testing.T) {
	root, err := testrepo.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"p.yaml":       "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: p\nspec:\n  source:\n    path: p\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: p\n",
		"p/Chart.yaml": "apiVersion: v2\nname: p\nversion: 0.1.0\n",
		"p/templates/set.yaml": `apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: web
spec:
  generators:
  - clusters:
      selector:
        matchLabels: {env: prod}
  template:
    metadata:
      name: '{{ "{{name}}" }}-web'
    spec:
      source:
        path: web
      destination:
        server: '{{ "{{server}}" }}'
        namespace: web
`,
		"web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
	}
	clusters := "clusters:\n- name: eu\n  server: https://eu.example.com\n  labels: {env: prod}\n- name: dev\n  server: https://dev.example.com\n  labels: {env: dev}\n"
	dir := testrepo.Files(t, files)
	clustersFile := filepath.Join(t.TempDir(), "clusters.yaml")
	if err := os.WriteFile(clustersFile, []byte(clusters), 0o600); err != nil {
		t.Fatal(err)
	}
	badFile := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badFile, []byte("clusters:\n- name: eu\n  server: eu.example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string // in stdout, or stderr when the command fails
		absent   []string
	}{
		{name: "testdata/app-of-apps", args: []string{"apps", "--repo", filepath.Join(root, "testdata", "app-of-apps", "base")},
			want: []string{"cert-manager", "components/cert-manager", "application of addons", "helm-guestbook", "platform"}},
		{name: "with --clusters", args: []string{"apps", "--repo", dir, "--clusters", clustersFile},
			want: []string{"eu-web", "https://eu.example.com", "applicationset of p"}, absent: []string{"dev-web"}},
		{name: "without clusters", args: []string{"apps", "--repo", dir}, want: []string{"p "}, absent: []string{"-web"}},
		{name: "render a child", args: []string{"render", "--repo", dir, "--clusters", clustersFile, "--app", "eu-web"},
			want: []string{"kind: ConfigMap", "name: web"}},
		{name: "a broken clusters file", args: []string{"apps", "--repo", dir, "--clusters", badFile}, wantCode: exitFailure,
			want: []string{badFile + ":2", "want an https://"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, code := run(t, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			text := out
			if code != 0 {
				text = stderr
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(text, a) {
					t.Errorf("output holds %q:\n%s", a, text)
				}
			}
		})
	}
}
