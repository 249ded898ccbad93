package render

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// mixedRepo holds one environment of each kind, plus an overlay with its own
// OpenAPI schema (which kustomize keeps in process-wide state).
func mixedRepo() map[string]string {
	patch := "patches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: web\n    spec:\n      template:\n        spec:\n          containers:\n          - name: sidecar\n            image: envoy\n"
	return with(with(baseFiles(), valuesChart()), map[string]string{
		"overlays/prod/kustomization.yaml":   "resources:\n- ../../base\nnamePrefix: prod-\n" + patch,
		"overlays/schema/kustomization.yaml": "resources:\n- ../../base\nopenapi:\n  path: schema.json\n" + patch,
		// Without the Deployment schema, kustomize replaces the containers
		// list instead of merging it by name: the two overlays must differ.
		"overlays/schema/schema.json": `{"definitions": {}}`,
		"plain/cm.yaml":               "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n",
	})
}

func mixedEnvs() []environment.Environment {
	return []environment.Environment{
		{Name: "prod", Path: "overlays/prod", Type: environment.Kustomize},
		{Name: "schema", Path: "overlays/schema", Type: environment.Kustomize},
		{Name: "chart", Path: "charts/app", Type: environment.Helm, Helm: &environment.HelmSource{ValueFiles: []string{"values-1.yaml"}}},
		{Name: "plain", Path: "plain", Type: environment.Directory},
	}
}

func TestRenderConcurrently(t *testing.T) {
	tree := gitTree(t, mixedRepo())
	envs := mixedEnvs()
	want := map[string]*Result{}
	for _, env := range envs {
		want[env.Name] = render(t, tree, env)
	}
	if n := len(field(find(t, want["prod"].Objects, "Deployment", "prod-web").Object, "spec", "template", "spec", "containers").([]any)); n != 2 {
		t.Errorf("default schema: %d containers, want the sidecar merged in (2)", n)
	}
	if n := len(field(find(t, want["schema"].Objects, "Deployment", "web").Object, "spec", "template", "spec", "containers").([]any)); n != 1 {
		t.Errorf("custom schema: %d containers, want the list replaced (1)", n)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 4; i++ {
		for _, env := range envs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := Render(context.Background(), tree, env, Options{})
				if err != nil {
					errs <- err
					return
				}
				if !sameResult(res, want[env.Name]) {
					errs <- fmt.Errorf("%s rendered differently when run concurrently", env.Name)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func sameResult(a, b *Result) bool {
	if !reflect.DeepEqual(a.Files, b.Files) || len(a.Objects) != len(b.Objects) {
		return false
	}
	for i := range a.Objects {
		if a.Objects[i].Source != b.Objects[i].Source || !reflect.DeepEqual(a.Objects[i].Object, b.Objects[i].Object) {
			return false
		}
	}
	return true
}

func TestRenderLimits(t *testing.T) {
	tree := testrepo.Tree(t, mixedRepo())
	tests := []struct {
		name   string
		env    environment.Environment
		limits Limits
		is     error
		msg    string
	}{
		{name: "kustomize output", env: mixedEnvs()[0], limits: Limits{MaxOutputBytes: 100}, msg: "rendered output exceeds the limit of 100 bytes"},
		{name: "helm output", env: mixedEnvs()[2], limits: Limits{MaxOutputBytes: 100}, msg: "rendered output exceeds the limit of 100 bytes"},
		{name: "directory output", env: mixedEnvs()[3], limits: Limits{MaxOutputBytes: 10}, msg: "rendered output exceeds the limit of 10 bytes"},
		{name: "kustomize file size", env: mixedEnvs()[0], limits: Limits{MaxFileSize: 20}, is: repofs.ErrTooLarge},
		{name: "helm file size", env: mixedEnvs()[2], limits: Limits{MaxFileSize: 20}, is: repofs.ErrTooLarge},
		{name: "directory file size", env: mixedEnvs()[3], limits: Limits{MaxFileSize: 20}, is: repofs.ErrTooLarge},
		{name: "timeout", env: mixedEnvs()[0], limits: Limits{Timeout: time.Nanosecond}, is: context.DeadlineExceeded, msg: "timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(context.Background(), tree, tt.env, Options{Limits: tt.limits})
			var re *Error
			if !errors.As(err, &re) || re.Env != tt.env.Name {
				t.Fatalf("err = %v, want *Error for %s", err, tt.env.Name)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want it to mention %q", err, tt.msg)
			}
		})
	}
}

func TestRenderCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Render(ctx, testrepo.Tree(t, mixedRepo()), mixedEnvs()[2], Options{})
	var re *Error
	if !errors.As(err, &re) || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("err = %v, want a cancelled *Error", err)
	}
}

func TestBoundedRecoversPanics(t *testing.T) {
	_, err := bounded(context.Background(), time.Minute, func(context.Context) ([]manifest.Object, error) {
		panic("kustomize exploded")
	})
	var re *Error
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "renderer panicked: kustomize exploded") {
		t.Fatalf("err = %v, want a panic turned into *Error", err)
	}
	if !strings.Contains(string(re.Stack), "TestBoundedRecoversPanics") || strings.Contains(err.Error(), "goroutine") {
		t.Errorf("the panic's stack is not kept apart from the message: Stack %q, error %v", re.Stack, err)
	}
}

func TestRenderRejectsBadEnvironments(t *testing.T) {
	tree := testrepo.Tree(t, mixedRepo())
	tests := []struct {
		name string
		env  environment.Environment
		msg  string
	}{
		{name: "missing path", env: environment.Environment{Name: "x", Path: "nope", Type: environment.Directory, File: "apps/x.yaml"}, msg: "apps/x.yaml: source path \"nope\" is not a directory"},
		{name: "path leaving the repository", env: environment.Environment{Name: "x", Path: "../x", Type: environment.Kustomize, File: "apps/x.yaml"}, msg: "leaves the repository"},
		{name: "unknown type", env: environment.Environment{Name: "x", Path: "plain", Type: "jsonnet", File: "apps/x.yaml"}, msg: `unknown source type "jsonnet"`},
		{name: "invalid release name", env: environment.Environment{Name: "x", Path: "charts/app", Type: environment.Helm, Helm: &environment.HelmSource{ReleaseName: "Bad_Name"}, File: "apps/x.yaml"}, msg: `apps/x.yaml: release name "Bad_Name"`},
		{name: "external", env: environment.Environment{Name: "x", Path: "plain", Type: environment.Directory, External: true, RepoURL: "https://example.com/other.git"}, msg: "another repository"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(context.Background(), tree, tt.env, Options{})
			var re *Error
			if !errors.As(err, &re) || re.Env != "x" || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want *Error mentioning %q", err, tt.msg)
			}
		})
	}
	if _, err := Render(context.Background(), nil, mixedEnvs()[0], Options{}); err == nil {
		t.Error("nil tree rendered")
	}
}

func TestErrorFormat(t *testing.T) {
	cause := errors.New("boom")
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Env: "e", File: "a/b.yaml", Line: 3, Err: cause}, "a/b.yaml:3: boom"},
		{&Error{Env: "e", File: "a/b.yaml", Err: cause}, "a/b.yaml: boom"},
		{&Error{Env: "e", Err: cause}, "environment e: boom"},
		{&Error{Err: cause}, "boom"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if !errors.Is(tt.err, cause) {
			t.Errorf("%v does not unwrap to its cause", tt.err)
		}
	}
	long := reword(cause, strings.Repeat("x", 5000))
	if len(long.Error()) > maxErrorMessage+len("… (truncated)") || !errors.Is(long, cause) {
		t.Errorf("reworded error not capped or not unwrapping: %d bytes", len(long.Error()))
	}
}

func BenchmarkRenderKustomize(b *testing.B) {
	tree := testrepo.Tree(b, mixedRepo())
	env := mixedEnvs()[0]
	b.ResetTimer()
	for b.Loop() {
		if _, err := Render(context.Background(), tree, env, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderHelm(b *testing.B) {
	tree := testrepo.Tree(b, mixedRepo())
	env := mixedEnvs()[2]
	b.ResetTimer()
	for b.Loop() {
		if _, err := Render(context.Background(), tree, env, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
