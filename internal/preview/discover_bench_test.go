package preview

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/sandbox"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// BenchmarkDiscoverAppOfApps measures what following app-of-apps costs
// discovery: on the bundled example repository (testdata/gitops, where no
// environment's inputs mention argoproj.io, so nothing renders) and on
// testdata/app-of-apps (three parents render), without a renderer (no
// expansion), in this process and in a warm sandbox pool.
func BenchmarkDiscoverAppOfApps(b *testing.B) {
	pool, err := sandbox.New(sandbox.Options{Render: render.Options{Limits: render.DefaultLimits()}})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	pool.Warm(2)
	root, err := testrepo.ModuleRoot()
	if err != nil {
		b.Fatal(err)
	}
	repos := []struct{ name, dir, url string }{
		{"gitops", testrepo.BaseDir(b), testrepo.RepoURL},
		{"app-of-apps", filepath.Join(root, "testdata", "app-of-apps", "base"), appOfAppsURL},
	}
	for _, repo := range repos {
		for _, r := range []struct {
			name     string
			renderer Renderer
		}{{"none", nil}, {"in-process", InProcess{Limits: render.DefaultLimits()}}, {"sandbox", pool}} {
			b.Run(repo.name+"/"+r.name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					tree, err := repofs.OpenDir(repo.dir)
					if err != nil {
						b.Fatal(err)
					}
					d, err := Discover(context.Background(), tree, DiscoverOptions{RepoURL: repo.url, Renderer: r.renderer})
					tree.Close()
					if err != nil || len(d.Environments) == 0 {
						b.Fatalf("%v %v", d, err)
					}
					b.ReportMetric(float64(len(d.Environments)), "envs")
				}
			})
		}
	}
}
