package render

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/reftools"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// TestJsonnetFidelity renders Jsonnet directory sources with ferry and
// evaluates each of their .jsonnet files with the reference jsonnet CLI
// (`make tools`: github.com/google/go-jsonnet/cmd/jsonnet) given the same
// settings as Argo CD gives go-jsonnet (-J the source directory, then -J
// each lib; --ext-str/--ext-code/--tla-str/--tla-code), run from the
// repository root, and requires the same objects.
func TestJsonnetFidelity(t *testing.T) {
	cli := reftools.Path(t, "jsonnet")
	const cm = `{apiVersion: "v1", kind: "ConfigMap", metadata: {name: n}, data: d}`
	tests := []struct {
		name  string
		files map[string]string
		js    *environment.JsonnetSource
	}{
		{name: "external variables and top-level arguments", files: map[string]string{
			"app/main.jsonnet": `function(tier, replicas, labels) local n = std.extVar("name"), d = {tier: tier, count: std.toString(replicas)} + labels + std.extVar("extra");
[` + cm + `, {apiVersion: "apps/v1", kind: "Deployment", metadata: {name: n, labels: labels}, spec: {replicas: replicas, ratio: 0.25, big: 12345678901}}]`,
		}, js: &environment.JsonnetSource{
			ExtVars: []environment.JsonnetVar{{Name: "name", Value: "web"}, {Name: "extra", Value: `{"x": "y", "u": "ünïcode"}`, Code: true}},
			TLAs: []environment.JsonnetVar{{Name: "tier", Value: "front"}, {Name: "replicas", Value: "3", Code: true},
				{Name: "labels", Value: `{app: "web"}`, Code: true}},
		}},
		{name: "libs, nested imports and precedence", files: map[string]string{
			"envs/prod/main.jsonnet":      `local k = import "k.libsonnet"; local local_ = import "util.libsonnet"; [k.cm("a", {v: local_.v, who: (import "k2.libsonnet").who}), k.svc("b")]`,
			"envs/prod/util.libsonnet":    `{v: "local-wins"}`,
			"lib/k.libsonnet":             `local p = import "parts/p.libsonnet"; {cm(n, d):: ` + cm + `, svc(n):: p.svc(n)}`,
			"lib/parts/p.libsonnet":       `{svc(n):: {apiVersion: "v1", kind: "Service", metadata: {name: n}, spec: {ports: [{port: 80}], from: (import "../k2.libsonnet").who}}}`,
			"lib/k2.libsonnet":            `{who: "lib"}`,
			"lib/util.libsonnet":          `{v: "lib-loses"}`,
			"vendor/k2.libsonnet":         `{who: "vendor"}`,
			"vendor/right-most.libsonnet": `{}`,
		}, js: &environment.JsonnetSource{Libs: []string{"lib", "vendor"}}},
		{name: "several files, lists and a .libsonnet", files: map[string]string{
			"app/a.jsonnet":   `local n = "a", d = {k: importstr "raw.txt"}; ` + cm,
			"app/b.jsonnet":   `{apiVersion: "v1", kind: "ConfigMapList", items: [{apiVersion: "v1", kind: "ConfigMap", metadata: {name: "l" + i}} for i in std.range(1, 3)]}`,
			"app/c.jsonnet":   `[]`,
			"app/x.libsonnet": `error "never evaluated alone"`,
			"app/raw.txt":     "line one\nline two\n",
		}},
		{name: "library importing from the source directory", files: map[string]string{
			"app/main.jsonnet":      `(import "shared.libsonnet").objs`,
			"app/config.libsonnet":  `{name: "from-app"}`,
			"libs/shared.libsonnet": `local c = import "config.libsonnet"; {objs: [{apiVersion: "v1", kind: "Namespace", metadata: {name: c.name, annotations: {yaml: std.manifestYamlDoc({a: [1, 2]})}}}]}`,
		}, js: &environment.JsonnetSource{Libs: []string{"libs"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := testrepo.Files(t, tt.files)
			tree, err := repofs.OpenDir(repo)
			if err != nil {
				t.Fatal(err)
			}
			defer tree.Close()
			dir := path.Dir(firstJsonnet(tt.files))
			res, err := Render(context.Background(), tree, jsonnetEnv(dir, tt.js), Options{})
			if err != nil {
				t.Fatalf("ferry: %v", err)
			}
			var want []manifest.Object
			for _, f := range sortedKeys(tt.files) {
				if path.Dir(f) == dir && strings.HasSuffix(f, ".jsonnet") {
					want = append(want, referenceJsonnet(t, cli, repo, f, dir, tt.js)...)
				}
			}
			if len(want) == 0 {
				t.Fatal("the reference produced nothing to compare")
			}
			manifest.Sort(want)
			if got, exp := streamOf(t, res.Objects), streamOf(t, want); got != exp {
				t.Errorf("ferry differs from the jsonnet CLI\n--- ferry\n%s\n--- jsonnet\n%s", got, exp)
			}
		})
	}
}

// referenceJsonnet evaluates file with the jsonnet CLI and splits its
// output as Argo CD does (an array into its elements).
func referenceJsonnet(t *testing.T, cli, repo, file, dir string, js *environment.JsonnetSource) []manifest.Object {
	t.Helper()
	args := []string{"-J", dir}
	if js != nil {
		for _, l := range js.Libs {
			args = append(args, "-J", l)
		}
		for _, v := range js.ExtVars {
			args = append(args, map[bool]string{false: "--ext-str", true: "--ext-code"}[v.Code], v.Name+"="+v.Value)
		}
		for _, v := range js.TLAs {
			args = append(args, map[bool]string{false: "--tla-str", true: "--tla-code"}[v.Code], v.Name+"="+v.Value)
		}
	}
	cmd := exec.Command(cli, append(args, file)...)
	cmd.Dir = repo
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "JSONNET_PATH=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("jsonnet %v: %v\n%s", args, err, stderr.String())
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("jsonnet output: %v", err)
	}
	docs, ok := v.([]any)
	if !ok {
		docs = []any{v}
	}
	var objs []manifest.Object
	for _, d := range docs {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := manifest.Parse(b, file)
		if err != nil {
			t.Fatalf("reference object: %v", err)
		}
		objs = append(objs, parsed...)
	}
	return objs
}

func firstJsonnet(files map[string]string) string {
	for _, f := range sortedKeys(files) {
		if strings.HasSuffix(f, ".jsonnet") {
			return f
		}
	}
	return ""
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
