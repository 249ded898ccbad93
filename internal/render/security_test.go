package render

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// TestKustomizeStaysInTheRepository renders hostile kustomizations. Besides
// the error, it checks that nothing reached the network: a fake `git` on PATH
// records clone attempts and a local HTTP server counts downloads.
func TestKustomizeStaysInTheRepository(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte(serviceYAML))
	}))
	defer srv.Close()
	url := srv.URL + "/svc.yaml"

	bin := t.TempDir()
	marker := filepath.Join(t.TempDir(), "git-was-run")
	fakeGit := "#!/bin/sh\ntouch " + marker + "\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte(fakeGit), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	outside := testrepo.Files(t, map[string]string{
		"secret.yaml":               "apiVersion: v1\nkind: Secret\nmetadata:\n  name: stolen\n",
		"kustomization.yaml":        "resources:\n- secret.yaml\n",
		"nested/kustomization.yaml": "resources:\n- ../secret.yaml\n",
	})

	k := func(body string) map[string]string {
		return map[string]string{"app/kustomization.yaml": body, "app/svc.yaml": serviceYAML}
	}
	tests := []struct {
		name     string
		tree     map[string]string
		wantFile string
		wantLine int
		wantMsg  string
		outside  bool // the error must be repofs.ErrOutsideRoot
	}{
		{name: "dot-dot escape", tree: k("resources:\n- svc.yaml\n- ../../../etc/passwd\n"), wantFile: "app/kustomization.yaml", wantLine: 3, outside: true},
		{name: "absolute path", tree: k("resources:\n- /etc/passwd\n"), wantFile: "app/kustomization.yaml", wantLine: 2, outside: true},
		{name: "symlinked file leaving the tree", tree: with(k("resources:\n- link.yaml\n"), map[string]string{"app/link.yaml": "symlink:" + filepath.Join(outside, "secret.yaml")}), wantFile: "app/kustomization.yaml", wantLine: 2, outside: true},
		{name: "symlinked base leaving the tree", tree: with(k("resources:\n- ../base\n"), map[string]string{"base": "symlink:" + outside}), wantFile: "app/kustomization.yaml", wantLine: 2, outside: true},
		{name: "symlinked patch leaving the tree", tree: with(k("resources:\n- svc.yaml\npatches:\n- path: p.yaml\n"), map[string]string{"app/p.yaml": "symlink:" + filepath.Join(outside, "secret.yaml")}), wantFile: "app/kustomization.yaml", wantLine: 4, outside: true},
		{name: "remote git base", tree: k("resources:\n- svc.yaml\n- github.com/org/repo//x?ref=v1\n"), wantFile: "app/kustomization.yaml", wantLine: 3, wantMsg: `would fetch remote resource "github.com/org/repo//x?ref=v1"`},
		{name: "remote deprecated base", tree: k("bases:\n- https://github.com/org/repo/base?ref=main\n"), wantFile: "app/kustomization.yaml", wantLine: 2, wantMsg: "ferry does not fetch remote bases"},
		{name: "remote http resource", tree: k("resources:\n- " + url + "\n"), wantFile: "app/kustomization.yaml", wantLine: 2, wantMsg: url},
		{name: "scp-style component", tree: k("resources:\n- svc.yaml\ncomponents:\n- git@github.com:org/repo.git//c\n"), wantFile: "app/kustomization.yaml", wantLine: 4, wantMsg: "git@github.com"},
		{name: "go-getter prefix", tree: k("resources:\n- git::https://example.com/repo.git\n"), wantFile: "app/kustomization.yaml", wantLine: 2, wantMsg: "would fetch remote resource"},
		{name: "case-insensitive keys", tree: k("RESOURCES:\n- github.com/org/repo\n"), wantFile: "app/kustomization.yaml", wantLine: 2, wantMsg: "github.com/org/repo"},
		{name: "anchored URL", tree: k("metadata:\n  name: &u " + url + "\nresources:\n- *u\n"), wantFile: "app/kustomization.yaml", wantLine: 2, wantMsg: url},
		{name: "remote patch", tree: k("resources:\n- svc.yaml\npatches:\n- path: " + url + "\n"), wantFile: "app/kustomization.yaml", wantLine: 4, wantMsg: url},
		{name: "remote json6902 patch", tree: k("resources:\n- svc.yaml\npatchesJson6902:\n- target: {kind: Service, name: web}\n  path: " + url + "\n"), wantFile: "app/kustomization.yaml", wantLine: 5, wantMsg: url},
		{name: "remote generator file", tree: k("configMapGenerator:\n- name: c\n  files:\n  - key=" + url + "\n"), wantFile: "app/kustomization.yaml", wantLine: 4, wantMsg: url},
		{name: "remote openapi schema", tree: k("resources:\n- svc.yaml\nopenapi:\n  path: " + url + "\n"), wantFile: "app/kustomization.yaml", wantLine: 4, wantMsg: url},
		{name: "remote crds", tree: k("resources:\n- svc.yaml\ncrds:\n- " + url + "\n"), wantFile: "app/kustomization.yaml", wantLine: 4, wantMsg: url},
		{name: "remote transformer config", tree: k("resources:\n- svc.yaml\ntransformers:\n- " + url + "\n"), wantFile: "app/kustomization.yaml", wantLine: 4, wantMsg: url},
		{
			name: "builtin transformer with a remote patch",
			tree: with(k("resources:\n- svc.yaml\ntransformers:\n- t.yaml\n"), map[string]string{
				"app/t.yaml": "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: p\npath: " + url + "\n",
			}),
			wantFile: "app/t.yaml", wantLine: 1, wantMsg: url,
		},
		{
			name:     "inline builtin generator reading outside",
			tree:     k("generators:\n- |-\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n  metadata:\n    name: c\n  files:\n  - ../../../../etc/passwd\n"),
			wantFile: "app/kustomization.yaml", wantLine: 2, outside: true,
		},
		{
			name: "exec KRM function",
			tree: with(k("resources:\n- svc.yaml\ntransformers:\n- fn.yaml\n"), map[string]string{
				"app/fn.yaml": "apiVersion: example.com/v1\nkind: Pwn\nmetadata:\n  name: x\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: /bin/sh\n",
			}),
			wantFile: "app/fn.yaml", wantLine: 1, wantMsg: "KRM function",
		},
		{
			name:     "external plugin",
			tree:     k("resources:\n- svc.yaml\ngenerators:\n- |-\n  apiVersion: example.com/v1\n  kind: Gen\n  metadata:\n    name: x\n"),
			wantFile: "app/kustomization.yaml", wantLine: 4, wantMsg: "external kustomize plugin",
		},
		{
			name: "transformers from a kustomization that patches in a URL",
			tree: with(k("resources:\n- svc.yaml\ntransformers:\n- ../tf\n"), map[string]string{
				"tf/kustomization.yaml": "resources:\n- t.yaml\npatches:\n- patch: '[{\"op\": \"add\", \"path\": \"/path\", \"value\": \"" + url + "\"}]'\n  target: {kind: PatchTransformer}\n",
				"tf/t.yaml":             "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: p\npatch: '{}'\n",
			}),
			wantFile: "tf/kustomization.yaml", wantLine: 1, wantMsg: url,
		},
		{name: "helm chart inflation", tree: k("helmCharts:\n- name: redis\n  repo: https://charts.example.com\n"), wantFile: "app/kustomization.yaml", wantLine: 1, wantMsg: "helmCharts inflation is disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(context.Background(), testrepo.Tree(t, tt.tree), environment.Environment{Name: "e", Path: "app", Type: environment.Kustomize}, Options{})
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if re.File != tt.wantFile || re.Line != tt.wantLine {
				t.Errorf("error at %s:%d, want %s:%d: %v", re.File, re.Line, tt.wantFile, tt.wantLine, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
			if tt.outside && !errors.Is(err, repofs.ErrOutsideRoot) {
				t.Errorf("error %v is not ErrOutsideRoot", err)
			}
			if strings.Contains(err.Error(), "stolen") {
				t.Errorf("error reveals content from outside the repository: %v", err)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d HTTP requests reached the server", n)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("git was run")
	}
}
