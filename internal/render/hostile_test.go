package render

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// laughs is a billion-laughs document: n levels, each ten aliases of the
// one before, so it expands to 10^n nodes from a few hundred bytes.
func laughs(n int) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\ndata:\n  a0: &a0 \"lol\"\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  a%d: &a%d [", i, i)
		for k := 0; k < 10; k++ {
			if k > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestRenderRefusesHostileInput(t *testing.T) {
	zeros := strings.Repeat("\x00", 1<<20)
	var files strings.Builder
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&files, "  - f%d=blob.bin\n", i)
	}
	repo := map[string]string{
		"bomb/kustomization.yaml":    "resources:\n- cm.yaml\n",
		"bomb/cm.yaml":               laughs(9),
		"chart/Chart.yaml":           "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"chart/values.yaml":          laughs(9),
		"chart/templates/cm.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
		"plain/cm.yaml":              laughs(9),
		"gen/kustomization.yaml":     "configMapGenerator:\n- name: big\n  files:\n" + files.String(),
		"gen/blob.bin":               zeros,
		"anchors/kustomization.yaml": "resources:\n- cm.yaml\n",
		"anchors/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n  labels: &l {a: b}\n  annotations: *l\n",
	}
	tree := gitTree(t, repo)
	tests := []struct {
		env  environment.Environment
		line int
		msg  string // "" means the render succeeds
	}{
		{env: environment.Environment{Name: "kustomize", Path: "bomb", Type: environment.Kustomize}, line: 7, msg: "YAML aliases expand to more than"},
		{env: environment.Environment{Name: "helm", Path: "chart", Type: environment.Helm}, line: 7, msg: "YAML aliases expand to more than"},
		{env: environment.Environment{Name: "dir", Path: "plain", Type: environment.Directory}, line: 7, msg: "YAML aliases expand to more than"},
		{env: environment.Environment{Name: "generator", Path: "gen", Type: environment.Kustomize}, msg: "the render read more than 64 MiB of files"},
		{env: environment.Environment{Name: "anchors", Path: "anchors", Type: environment.Kustomize}},
	}
	for _, tt := range tests {
		t.Run(tt.env.Name, func(t *testing.T) {
			_, err := Render(context.Background(), tree, tt.env, Options{})
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("ordinary anchors refused: %v", err)
				}
				return
			}
			var re *Error
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want *Error mentioning %q", err, tt.msg)
			}
			if tt.line > 0 && re.Line < tt.line {
				t.Errorf("error at line %d, want the alias (line >= %d): %v", re.Line, tt.line, err)
			}
		})
	}
}

func TestReadBudgetCountsRepeats(t *testing.T) {
	tree := testrepo.Tree(t, map[string]string{"a.yaml": strings.Repeat("x", 1000)})
	r := newReader(context.Background(), tree, Limits{MaxReadBytes: 2500, MaxFiles: 100})
	for i := 0; i < 2; i++ {
		if _, err := r.read("a.yaml"); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	if _, err := r.read("a.yaml"); err == nil || !strings.Contains(err.Error(), "read more than 2500 bytes") {
		t.Fatalf("third read: err = %v, want the read budget", err)
	}
	r = newReader(context.Background(), tree, Limits{MaxFiles: 2})
	r.read("a.yaml")
	r.read("a.yaml")
	if _, err := r.read("a.yaml"); err == nil || !strings.Contains(err.Error(), "more than 2 times") {
		t.Fatalf("third read: err = %v, want the read count limit", err)
	}
}
