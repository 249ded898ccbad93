package environment_test

import (
	"slices"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// TestJsonnetDependencies: a change to a file a directory source's Jsonnet
// imports from outside the directory, or to its libraries, touches it.
func TestJsonnetDependencies(t *testing.T) {
	tree := testrepo.Tree(t, map[string]string{
		"apps/web.yaml":               "",
		"envs/web/main.jsonnet":       "local a = import '../../shared/a.libsonnet';\nlocal k = import \"k.libsonnet\";\n[a, k]",
		"envs/web/cm.yaml":            "",
		"shared/a.libsonnet":          "importstr 'nested/data.txt'",
		"shared/nested/data.txt":      "x",
		"shared/unrelated.libsonnet":  "{}",
		"vendor/k.libsonnet":          "{}",
		"vendor/deep/other.libsonnet": "{}",
		"elsewhere/x.yaml":            "",
	})
	env := environment.Environment{Name: "web", Path: "envs/web", File: "apps/web.yaml", Type: environment.Directory,
		Directory: &environment.DirectorySource{Jsonnet: &environment.JsonnetSource{Libs: []string{"vendor"}}}}
	deps, err := environment.Dependencies(tree, env)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		changed string
		touches bool
	}{
		{changed: "envs/web/cm.yaml", touches: true},
		{changed: "shared/a.libsonnet", touches: true},
		{changed: "shared/nested/data.txt", touches: true},
		{changed: "vendor/deep/other.libsonnet", touches: true}, // a library directory counts whole
		{changed: "envs/web/k.libsonnet", touches: true},        // would shadow the library's
		{changed: "shared/unrelated.libsonnet", touches: false},
		{changed: "elsewhere/x.yaml", touches: false},
	}
	for _, tt := range tests {
		if got := deps.Touches([]string{tt.changed}); got != tt.touches {
			t.Errorf("a change to %s touches = %t, want %t (deps %+v)", tt.changed, got, tt.touches, deps)
		}
	}
	// Without Jsonnet files, a plain directory depends on itself only.
	plain := env
	plain.Path, plain.Directory = "elsewhere", nil
	deps, err = environment.Dependencies(tree, plain)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(deps.Dirs, "vendor") || deps.Touches([]string{"shared/a.libsonnet"}) {
		t.Errorf("plain directory deps %+v", deps)
	}
}
