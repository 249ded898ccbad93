package render

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
)

const planted = "hunter2-Pl4nted-Value"

// TestErrorsQuoteNoContents renders sources that fail in kustomize, Helm
// and YAML while holding a password near the failure: the error keeps its
// file and line, and the password appears nowhere in it.
func TestErrorsQuoteNoContents(t *testing.T) {
	repo := map[string]string{
		// A strategic merge patch with a value of the wrong type.
		"k/kustomization.yaml": "resources:\n- deploy.yaml\npatches:\n- path: patch.yaml\n",
		"k/deploy.yaml":        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n",
		"k/patch.yaml":         "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {password: " + planted + "}\n",
		// A YAML type error in a plain directory.
		"d/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  " + planted + ": a\n  " + planted + ": b\n",
		// A Helm tpl of a value that is not a template.
		"h/Chart.yaml":         "apiVersion: v2\nname: h\nversion: 0.1.0\n",
		"h/values.yaml":        "password: \"{{ " + planted + " }}\"\n",
		"h/templates/cm.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  p: {{ tpl .Values.password . }}\n",
		"y/kustomization.yaml": "resources:\n- bad.yaml\n",
		"y/bad.yaml":           "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: \"" + planted + "\n  b: [\n",
		"m/kustomization.yaml": "resources:\n- cm.yaml\npatches:\n- patch: |-\n    - op: test\n      path: /data/password\n      value: wrong\n  target:\n    kind: ConfigMap\n",
		"m/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  password: " + planted + "\n",
	}
	tree := gitTree(t, repo)
	tests := []struct {
		env  environment.Environment
		file string
	}{
		{environment.Environment{Name: "k", Path: "k", Type: environment.Kustomize}, "k/"},
		{environment.Environment{Name: "d", Path: "d", Type: environment.Directory}, "d/cm.yaml"},
		{environment.Environment{Name: "h", Path: "h", Type: environment.Helm}, "h/"},
		{environment.Environment{Name: "y", Path: "y", Type: environment.Kustomize}, "y/"},
		{environment.Environment{Name: "m", Path: "m", Type: environment.Kustomize}, "m/"},
	}
	for _, tt := range tests {
		t.Run(tt.env.Name, func(t *testing.T) {
			_, err := Render(context.Background(), tree, tt.env, Options{})
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a render error", err)
			}
			if strings.Contains(err.Error(), "Pl4nted") {
				t.Errorf("the error quotes the planted value: %v", err)
			}
			if !strings.HasPrefix(re.File, tt.file) {
				t.Errorf("error at %q, want a file under %s: %v", re.File, tt.file, err)
			}
			t.Logf("%v", err)
		})
	}
}

func TestScrub(t *testing.T) {
	tests := []struct{ in, want string }{
		{"cannot unmarshal !!str `s3cret` into int64", "cannot unmarshal !!str `…` into int64"},
		{`accumulating resources from 'base/cm.yaml': bad`, `accumulating resources from 'base/cm.yaml': bad`},
		{`error converting map[string]interface {}{"password":"s3cret"} to object`, "error converting map[string]interface {…}{…} to object"},
		{`cannot parse template "{{ s3cret }}"`, `cannot parse template "…"`},
		{`unknown field "spec.s3cret"`, `unknown field "…"`},
		{`value "a\"s3cret" refused`, `value "…" refused`},
	}
	for _, tt := range tests {
		if got := scrub(tt.in); got != tt.want {
			t.Errorf("scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
