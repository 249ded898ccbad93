package render

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

func jsonnetEnv(path string, js *environment.JsonnetSource) environment.Environment {
	return environment.Environment{Name: "js", Path: path, Type: environment.Directory, File: "apps/js.yaml",
		Destination: environment.Destination{Namespace: "team"},
		Directory:   &environment.DirectorySource{Jsonnet: js}}
}

func TestJsonnet(t *testing.T) {
	cm := func(name string) string {
		return `{apiVersion: "v1", kind: "ConfigMap", metadata: {name: ` + name + `}}`
	}
	tree := testrepo.Tree(t, map[string]string{
		"app/main.jsonnet": `local lib = import "lib.libsonnet"; local v = import "vendored.libsonnet";
function(tla, tlaCode) [` + cm(`"ext-" + std.extVar("e")`) + `, ` + cm(`"code-" + std.extVar("c").x`) + `,
  ` + cm(`"tla-" + tla`) + `, ` + cm(`"tlacode-" + tlaCode[0]`) + `, lib.cm("lib"), v.cm("vendored"),
  ` + cm(`"env-" + std.extVar("app")`) + `,
  {apiVersion: "v1", kind: "List", items: [` + cm(`"item-a"`) + `, ` + cm(`"item-b"`) + `]}]`,
		"app/lib.libsonnet":         `{ cm(n):: ` + cm(`"lib-" + n`) + ` }`,
		"app/never.libsonnet":       `error "a .libsonnet is not evaluated on its own"`,
		"app/single.jsonnet":        cm(`std.strReplace(importstr "data.txt", "\n", "")`),
		"app/data.txt":              "from-importstr\n",
		"vendor/vendored.libsonnet": `local n = import "nested/n.libsonnet"; { cm(x):: n.cm(x) }`,
		"vendor/nested/n.libsonnet": `{ cm(x):: ` + cm(`"nested-" + x`) + ` }`,
		"vendor/unused.libsonnet":   `{}`,
	})
	env := jsonnetEnv("app", &environment.JsonnetSource{
		ExtVars: []environment.JsonnetVar{{Name: "e", Value: "str"}, {Name: "c", Value: `{x: "obj"}`, Code: true},
			{Name: "app", Value: "${ARGOCD_APP_NAME}-$ARGOCD_APP_NAMESPACE"}},
		TLAs: []environment.JsonnetVar{{Name: "tla", Value: "s"}, {Name: "tlaCode", Value: `["c"]`, Code: true}},
		Libs: []string{"vendor"},
	})
	res := render(t, tree, env)
	want := []string{"ConfigMap/code-obj", "ConfigMap/env-js-team", "ConfigMap/ext-str", "ConfigMap/item-a", "ConfigMap/item-b",
		"ConfigMap/lib-lib", "ConfigMap/nested-vendored", "ConfigMap/tla-s", "ConfigMap/tlacode-c", "ConfigMap/from-importstr"}
	slices.Sort(want)
	if got := keys(res.Objects); !slices.Equal(got, want) {
		t.Errorf("objects = %v\nwant %v", got, want)
	}
	if o := find(t, res.Objects, "ConfigMap", "nested-vendored"); o.Source != "app/main.jsonnet" {
		t.Errorf("source = %q, want the evaluated file", o.Source)
	}
	// Every imported file is a file the render read; unused ones are not.
	for _, f := range []string{"app/lib.libsonnet", "app/data.txt", "vendor/vendored.libsonnet", "vendor/nested/n.libsonnet", "app/main.jsonnet"} {
		if !slices.Contains(res.Files, f) {
			t.Errorf("files %v lack %s", res.Files, f)
		}
	}
	for _, f := range []string{"vendor/unused.libsonnet", "app/never.libsonnet"} {
		if slices.Contains(res.Files, f) {
			t.Errorf("files %v include %s, which nothing imports", res.Files, f)
		}
	}
}

func TestJsonnetErrors(t *testing.T) {
	outside := testrepo.Files(t, map[string]string{"secret.libsonnet": `{apiVersion: "v1", kind: "Secret", metadata: {name: "stolen"}}`})
	tests := []struct {
		name     string
		files    map[string]string
		js       *environment.JsonnetSource
		limits   Limits
		wantFile string
		wantLine int
		wantMsg  string
		outside  bool
	}{
		{name: "syntax error", files: map[string]string{"app/a.jsonnet": "{\n  a: 1,\n  b: ,\n}"},
			wantFile: "app/a.jsonnet", wantLine: 3},
		{name: "runtime error in an imported library", files: map[string]string{
			"app/a.jsonnet": "local l = import 'l.libsonnet';\nl.f(1)", "app/l.libsonnet": "{\n  f(x):: error 'boom ' + x,\n}"},
			wantFile: "app/l.libsonnet", wantLine: 2, wantMsg: "boom"},
		{name: "error in the standard library is reported at the caller", files: map[string]string{
			"app/a.jsonnet": "{\n  x: std.parseInt('nope'),\n}"}, wantFile: "app/a.jsonnet", wantLine: 2},
		{name: "missing import", files: map[string]string{"app/a.jsonnet": "\nimport 'nowhere.libsonnet'"},
			wantFile: "app/a.jsonnet", wantLine: 2, wantMsg: "couldn't open import"},
		{name: "output not an object", files: map[string]string{"app/a.jsonnet": `"text"`},
			wantFile: "app/a.jsonnet", wantMsg: "must be an object or an array"},
		{name: "array element not an object", files: map[string]string{"app/a.jsonnet": `[{apiVersion: "v1", kind: "A", metadata: {name: "a"}}, 1]`},
			wantFile: "app/a.jsonnet", wantMsg: "element 1 of the array is not an object"},
		{name: "object without a kind", files: map[string]string{"app/a.jsonnet": `{apiVersion: "v1"}`},
			wantFile: "app/a.jsonnet", wantMsg: "not a Kubernetes object"},
		{name: "infinite recursion", files: map[string]string{"app/a.jsonnet": "local f(x) = f(x + 1) + 1;\nf(0)"},
			wantFile: "app/a.jsonnet", wantLine: 1, wantMsg: "max stack frames exceeded"},
		{name: "huge string", files: map[string]string{"app/a.jsonnet": "local d(s, n) = if n == 0 then s else d(s + s, n - 1);\n" +
			`{apiVersion: "v1", kind: "ConfigMap", metadata: {name: "big"}, data: {x: d("x", 21)}}`},
			limits: Limits{MaxOutputBytes: 1 << 20}, wantFile: "app/a.jsonnet", wantMsg: "rendered output exceeds"},
		{name: "import cycle", files: map[string]string{"app/a.jsonnet": "import 'b.libsonnet'", "app/b.libsonnet": "\nimport 'a.jsonnet'"},
			wantFile: "app/b.libsonnet", wantLine: 2, wantMsg: "max stack frames exceeded"},
		{name: "infinitely deep output", files: map[string]string{"app/a.jsonnet": "local o = {a: o};\no"},
			wantFile: "app/a.jsonnet", wantMsg: "max stack frames exceeded"},
		{name: "absolute import", files: map[string]string{"app/a.jsonnet": "\n\nimport '/etc/passwd'"},
			wantFile: "app/a.jsonnet", wantLine: 3, outside: true},
		{name: "importstr climbing out", files: map[string]string{"app/a.jsonnet": "importstr '../../../../etc/passwd'"},
			wantFile: "app/a.jsonnet", wantLine: 1, outside: true},
		{name: "import through a symlink out of the tree", files: map[string]string{
			"app/a.jsonnet": "import 'link.libsonnet'", "app/link.libsonnet": "symlink:" + filepath.Join(outside, "secret.libsonnet")},
			wantFile: "app/a.jsonnet", wantLine: 1, outside: true},
		{name: "import of a directory", files: map[string]string{"app/a.jsonnet": "import 'sub'", "app/sub/x.yaml": ""},
			wantFile: "app/a.jsonnet", wantMsg: "is a directory"},
		{name: "read budget", files: map[string]string{"app/a.jsonnet": "[importstr 'big.txt' for i in std.range(1, 3)]", "app/big.txt": strings.Repeat("x", 4000)},
			limits: Limits{MaxReadBytes: 2000}, wantFile: "app/a.jsonnet", wantLine: 1, wantMsg: "app/big.txt: the render read more than"},
		{name: "library path leaving the repository", files: map[string]string{"app/a.jsonnet": "{}"},
			js: &environment.JsonnetSource{Libs: []string{"../outside"}}, wantFile: "apps/js.yaml", wantMsg: `directory.jsonnet.libs "../outside"`},
		{name: "ext code importing outside", files: map[string]string{"app/a.jsonnet": "std.extVar('x')"},
			js: &environment.JsonnetSource{ExtVars: []environment.JsonnetVar{{Name: "x", Value: "import '../secret.libsonnet'", Code: true}}}, outside: true,
			wantFile: "app/a.jsonnet", wantLine: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(context.Background(), testrepo.Tree(t, tt.files), jsonnetEnv("app", tt.js), Options{Limits: tt.limits})
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if re.File != tt.wantFile || (tt.wantLine > 0 && re.Line != tt.wantLine) {
				t.Errorf("error at %s:%d, want %s:%d: %v", re.File, re.Line, tt.wantFile, tt.wantLine, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
			if tt.outside != errors.Is(err, repofs.ErrOutsideRoot) {
				t.Errorf("ErrOutsideRoot = %v, want %v: %v", !tt.outside, tt.outside, err)
			}
			if strings.Contains(err.Error(), "root:") || strings.Contains(err.Error(), "stolen") {
				t.Errorf("error quotes a file from outside the repository: %v", err)
			}
		})
	}
}

// TestJsonnetTimeout: an evaluation that only computes (no reads to cut
// off) is abandoned at the render's deadline; a render worker running it
// is killed (package sandbox).
func TestJsonnetTimeout(t *testing.T) {
	tree := testrepo.Tree(t, map[string]string{
		// About three seconds of arithmetic in constant stack (std.foldl
		// is a native loop). go-jsonnet cannot be interrupted, so the
		// abandoned evaluation runs on in this process until it ends; it
		// must end, and must not grow the stack (a deep recursion would
		// crash the test binary, as it kills a render worker).
		"app/a.jsonnet": `{apiVersion: "v1", kind: "ConfigMap", metadata: {name: "n" + std.foldl(function(acc, x) acc + x % 7, std.range(1, 300000), 0)}}`,
	})
	start := time.Now()
	_, err := Render(context.Background(), tree, jsonnetEnv("app", nil), Options{Limits: Limits{Timeout: 200 * time.Millisecond}})
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v, want the render's timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("render returned after %s, want about the 200ms timeout", d)
	}
}

// TestJsonnetApplication: an Application's spec.source.directory reaches
// the render (discovered, then rendered as a worker receives it: JSON).
func TestJsonnetApplication(t *testing.T) {
	tree := testrepo.Tree(t, map[string]string{
		"apps/web.yaml": `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
spec:
  source:
    repoURL: https://github.com/example/repo
    path: envs/web
    directory:
      recurse: true
      exclude: 'old/*'
      jsonnet:
        extVars: [{name: tier, value: gold}]
        tlas: [{name: replicas, value: "2", code: true}]
        libs: [lib]
  destination:
    server: https://kubernetes.default.svc
    namespace: web
`,
		"envs/web/sub/main.jsonnet": `local k = import "k.libsonnet"; function(replicas) k.deploy(std.extVar("tier"), replicas)`,
		"envs/web/old/cm.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old\n",
		"lib/k.libsonnet":           `{deploy(n, r):: {apiVersion: "apps/v1", kind: "Deployment", metadata: {name: n}, spec: {replicas: r}}}`,
	})
	found, err := environment.Discover(tree, environment.DiscoverOptions{RepoURL: "https://github.com/example/repo"})
	if err != nil || len(found.Environments) != 1 {
		t.Fatalf("discover: %v %+v", err, found)
	}
	b, err := json.Marshal(found.Environments[0])
	if err != nil {
		t.Fatal(err)
	}
	var env environment.Environment
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	res := render(t, tree, env)
	if got := keys(res.Objects); !slices.Equal(got, []string{"apps/Deployment/gold"}) {
		t.Fatalf("objects = %v", got)
	}
	if r := field(res.Objects[0].Object, "spec", "replicas"); r != int64(2) && r != float64(2) {
		t.Errorf("replicas = %#v, want 2", r)
	}
	if !slices.Contains(res.Files, "lib/k.libsonnet") {
		t.Errorf("files %v lack the library", res.Files)
	}
}
