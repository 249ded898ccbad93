package sandbox

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/gittest"
	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

func TestMain(m *testing.M) {
	RunIfWorker()
	os.Exit(m.Run())
}

// commit stores files as one commit of a new repository and opens its tree.
func commit(t *testing.T, files map[string]string) *repofs.Tree {
	t.Helper()
	srv := gittest.NewServer(t)
	srv.CreateRepo(t, "acme/r", "")
	sha := srv.Commit(t, "acme/r", "main", files, "test")
	tree, err := repofs.OpenGit(context.Background(), srv.RepoPath("acme/r"), sha)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tree.Close() })
	return tree
}

func chart(template, values string) map[string]string {
	return map[string]string{
		"chart/Chart.yaml":        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"chart/values.yaml":       values,
		"chart/templates/cm.yaml": template,
	}
}

var chartEnv = environment.Environment{Name: "prod", File: "apps/prod.yaml", Path: "chart", Type: environment.Helm}

func TestPoolRendersLikeInProcess(t *testing.T) {
	files := map[string]string{
		"base/kustomization.yaml":    "resources:\n- cm.yaml\n",
		"base/cm.yaml":               "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  n: \"1\"\n",
		"overlay/kustomization.yaml": "resources:\n- ../base\nnamePrefix: prod-\nreplicas: []\n",
		"plain/deploy.yaml":          "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: 3\n",
	}
	for k, v := range chart("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  size: {{ .Values.size | quote }}\n", "size: 3\n") {
		files[k] = v
	}
	tree := commit(t, files)
	pool, err := New(Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, env := range []environment.Environment{
		{Name: "k", Path: "overlay", Type: environment.Kustomize},
		chartEnv,
		{Name: "d", Path: "plain", Type: environment.Directory},
		{Name: "broken", Path: "missing", Type: environment.Directory},
	} {
		want, wantErr := render.Render(context.Background(), tree, env, render.Options{})
		got, err := pool.Render(context.Background(), tree, env)
		if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
			t.Fatalf("%s: err = %v, want %v", env.Name, err, wantErr)
		}
		if err == nil && (!reflect.DeepEqual(got.Objects, want.Objects) || !reflect.DeepEqual(got.Files, want.Files)) {
			t.Errorf("%s: worker rendered %+v, in-process %+v", env.Name, got, want)
		}
	}
	if n := len(pool.idle); n == 0 || n > 2 {
		t.Fatalf("%d idle workers after the renders, want 1..2 kept warm", n)
	}
	// Workers yield the CPU to the server.
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pool.idle[0].cmd.Process.Pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if nice, _ := strconv.Atoi(fields[16]); nice < workerNice {
		t.Errorf("worker runs at nice %d, want at least %d", nice, workerNice)
	}
}

func TestPoolStopsHostileRenders(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		opts   Options
		reason string
		// jsonnet renders the files as a Jsonnet directory source at
		// chart/ rather than as a chart.
		jsonnet bool
	}{
		{name: "tpl recursion", files: chart("{{ tpl .Values.x . }}\n", "x: \"{{ tpl .Values.x . }}\"\n"),
			reason: "it recursed too deeply (stack overflow: templates or Jsonnet)"},
		{name: "memory", files: chart("{{ range until 4000000 }}{{ repeat 200 \"a\" }}{{ end }}\n", ""),
			opts: Options{Memory: 300 << 20}, reason: "it used more than 300 MiB of memory"},
		{name: "time", files: chart("{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}\n", ""),
			opts: Options{Timeout: time.Second}, reason: "it ran longer than 1s"},
		// go-jsonnet overflows Go's stack on this (its own CLI crashes too).
		{name: "jsonnet stack overflow", jsonnet: true, files: map[string]string{"chart/a.jsonnet": "local loop(n, acc) = if n == 0 then acc else loop(n - 1, acc + 1) tailstrict;\n{a: loop(3000000, 0)}\n"},
			reason: "it recursed too deeply (stack overflow: templates or Jsonnet)"},
		// go-jsonnet cannot be interrupted: only killing the worker stops it.
		{name: "jsonnet time", jsonnet: true, files: map[string]string{"chart/a.jsonnet": "{a: std.foldl(function(acc, x) acc + x % 7, std.range(1, 30000000), 0)}\n"},
			opts: Options{Timeout: time.Second}, reason: "it ran longer than 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := commit(t, tt.files)
			pool, err := New(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			env := chartEnv
			if tt.jsonnet {
				env.Type = environment.Directory
			}
			_, err = pool.Render(context.Background(), tree, env)
			var se *StoppedError
			var re *render.Error
			if !errors.As(err, &se) || !errors.As(err, &re) {
				t.Fatalf("err = %v, want a stopped render", err)
			}
			if se.Reason != tt.reason || re.File != chartEnv.File || re.Env != "prod" {
				t.Errorf("stopped: %q at %s (env %s), want %q at %s", se.Reason, re.File, re.Env, tt.reason, chartEnv.File)
			}
			want := "render of prod was stopped: " + tt.reason
			if se.Error() != want {
				t.Errorf("message %q, want %q", se.Error(), want)
			}
			// The same render is not run again: the answer comes from memory.
			started := time.Now()
			_, again := pool.Render(context.Background(), tree, env)
			if !errors.As(again, &se) || time.Since(started) > 100*time.Millisecond {
				t.Errorf("second render: %v after %s, want the remembered stop at once", again, time.Since(started))
			}
			// The pool still renders ordinary charts.
			ok := commit(t, chart("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n", ""))
			if _, err := pool.Render(context.Background(), ok, chartEnv); err != nil {
				t.Errorf("ordinary render after a stop: %v", err)
			}
		})
	}
}

func TestPoolWorkerKilledFromOutside(t *testing.T) {
	tree := commit(t, chart("{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}\n", ""))
	pool, err := New(Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	go func() {
		// The worker is this test's only child that runs the test binary.
		for {
			time.Sleep(200 * time.Millisecond)
			out, _ := exec.Command("pgrep", "-P", strconv.Itoa(os.Getpid())).Output()
			if pid, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				return
			}
		}
	}()
	_, err = pool.Render(context.Background(), tree, chartEnv)
	if err == nil || !strings.Contains(err.Error(), "render of prod was stopped: its process was killed by killed") {
		t.Fatalf("err = %v, want the worker's death explained", err)
	}
}

func TestPoolCancelled(t *testing.T) {
	tree := commit(t, chart("{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}\n", ""))
	pool, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = pool.Render(ctx, tree, chartEnv)
	var se *StoppedError
	if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &se) {
		t.Fatalf("err = %v, want a cancellation, not a stop", err)
	}
	if got := pool.stopped.get(mustKey(t, pool, tree)); got != nil {
		t.Errorf("a cancelled render was remembered as stopped: %v", got)
	}
}

func mustKey(t *testing.T, p *Pool, tree *repofs.Tree) [32]byte {
	key, err := memoKey(p.request(tree, chartEnv))
	if err != nil {
		t.Fatal(err)
	}
	return key
}
