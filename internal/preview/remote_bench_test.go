package preview

import (
	"context"
	"fmt"
	"os/exec"
	"testing"

	"github.com/ferry-gitops/ferry/internal/fetch"
	"github.com/ferry-gitops/ferry/internal/fetchtest"
	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/sandbox"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// benchChart is a chart of 30 Deployments and Services whose image is the
// chart's version.
func benchChart(version string) map[string]string {
	files := map[string]string{"values.yaml": "image: app:" + version + "\n"}
	for i := range 30 {
		files[fmt.Sprintf("templates/svc-%d.yaml", i)] = fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: svc-%[1]d}
spec:
  template:
    spec:
      containers: [{name: app, image: "{{ .Values.image }}"}]
---
apiVersion: v1
kind: Service
metadata: {name: svc-%[1]d}
spec:
  ports: [{port: 80}]
`, i)
	}
	return files
}

// chartBumpRepo is a repository whose Application takes chart platform
// from repoURL at 1.0.0 on main and at 1.1.0 on branch "bump".
func chartBumpRepo(b *testing.B, repoURL string) string {
	b.Helper()
	app := func(version string) string {
		return "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: platform\nspec:\n  project: default\n" +
			"  source:\n    repoURL: " + repoURL + "\n    chart: platform\n    targetRevision: " + version + "\n" +
			"  destination:\n    server: https://kubernetes.default.svc\n    namespace: platform\n"
	}
	dir := testrepo.Files(b, map[string]string{"apps/platform.yaml": app("1.0.0")})
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=b", "-c", "user.email=b@ferry.invalid"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-qm", "platform 1.0.0")
	git("checkout", "-qb", "bump")
	testrepo.Write(b, dir, map[string]string{"apps/platform.yaml": app("1.1.0")})
	git("commit", "-qam", "platform 1.1.0")
	return dir
}

// BenchmarkPreviewChartBump: the preview of a pull request bumping an
// external chart (both versions rendered and diffed), with an empty fetch
// cache ("cold": the index and both archives downloaded from a local chart
// repository) and a warm one ("cached": nothing downloaded), in this
// process and in warm render workers as the server runs it.
func BenchmarkPreviewChartBump(b *testing.B) {
	charts := fetchtest.NewChartRepo(b)
	for _, v := range []string{"1.0.0", "1.1.0"} {
		charts.AddChart("platform", v, benchChart(v))
	}
	repo := chartBumpRepo(b, charts.URL())
	allow := fetch.Allowlist{{URL: charts.URL()}}
	b.Run("cold", func(b *testing.B) {
		runChartBump(b, repo, func() Renderer {
			f, err := fetch.New(fetch.Config{Repositories: allow, CacheDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			return InProcess(render.Options{Limits: render.DefaultLimits(), Remote: f})
		})
	})
	f, err := fetch.New(fetch.Config{Repositories: allow, CacheDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	cached := InProcess(render.Options{Limits: render.DefaultLimits(), Remote: f})
	b.Run("cached", func(b *testing.B) { runChartBump(b, repo, func() Renderer { return cached }) })
	pool, err := sandbox.New(sandbox.Options{Render: render.Options{Limits: render.DefaultLimits()},
		Fetch: &fetch.Config{Repositories: allow, CacheDir: b.TempDir()}})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	b.Run("workers-cached", func(b *testing.B) { runChartBump(b, repo, func() Renderer { return pool }) })
	charts.Reset()
	b.Run("workers-cached-again", func(b *testing.B) { runChartBump(b, repo, func() Renderer { return pool }) })
	if got := charts.Requests(); len(got) != 0 {
		b.Errorf("cached previews made requests: %v", got)
	}
}

// runChartBump previews main → bump b.N times, each with the renderer
// renderer() returns (made outside the timer).
func runChartBump(b *testing.B, repo string, renderer func() Renderer) {
	ctx := context.Background()
	if _, err := previewBump(ctx, repo, renderer()); err != nil { // warms what renderer keeps
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		r := renderer()
		b.StartTimer()
		changed, err := previewBump(ctx, repo, r)
		if err != nil {
			b.Fatal(err)
		}
		if changed != 30 {
			b.Fatalf("%d resources changed, want the 30 Deployments", changed)
		}
	}
}

func previewBump(ctx context.Context, repo string, r Renderer) (int, error) {
	base, err := repofs.OpenGit(ctx, repo, "main")
	if err != nil {
		return 0, err
	}
	defer base.Close()
	head, err := repofs.OpenGit(ctx, repo, "bump")
	if err != nil {
		return 0, err
	}
	defer head.Close()
	res, err := Run(ctx, base, head, Options{Renderer: r})
	if err != nil {
		return 0, err
	}
	if len(res.Environments) != 1 || res.Environments[0].Error != "" {
		return 0, fmt.Errorf("environments: %+v", res.Environments)
	}
	return res.Environments[0].Counts.Changed, nil
}
