package preview

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/sandbox"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// gen500 builds the generated 500-overlay repository with a branch "one"
// that changes a single overlay, and "base" that changes a shared base.
func gen500(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	if err := testrepo.GenerateOverlays(dir, 500); err != nil {
		b.Fatal(err)
	}
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=b", "-c", "user.email=b@ferry.invalid"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	appendTo := func(name, line string) {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		f.WriteString(line)
		f.Close()
	}
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-qm", "500 overlays")
	git("checkout", "-qb", "one")
	appendTo("overlays/env-250/kustomization.yaml", "namePrefix: bench-\n")
	git("commit", "-qam", "one overlay")
	git("checkout", "-qb", "base", "main")
	appendTo("bases/service-1/configmap.yaml", "  extra: \"1\"\n")
	git("commit", "-qam", "one base")
	return dir
}

// benchmarkPreview runs the preview with renders in this process and in a
// warm sandbox pool (as the server does), side by side.
func benchmarkPreview(b *testing.B, head string, wantChanged int) {
	repo := gen500(b)
	pool, err := sandbox.New(sandbox.Options{Render: render.Options{Limits: render.DefaultLimits()}})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	for _, r := range []struct {
		name     string
		renderer Renderer
	}{
		{"in-process", InProcess(render.Options{Limits: render.DefaultLimits()})},
		{"workers", pool},
	} {
		b.Run(r.name, func(b *testing.B) { runPreviews(b, repo, head, r.renderer, wantChanged) })
	}
}

func runPreviews(b *testing.B, repo, head string, renderer Renderer, wantChanged int) {
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Each iteration opens the trees afresh, as a new webhook would.
		base, err := repofs.OpenGit(ctx, repo, "main")
		if err != nil {
			b.Fatal(err)
		}
		headTree, err := repofs.OpenGit(ctx, repo, head)
		if err != nil {
			b.Fatal(err)
		}
		res, err := Run(ctx, base, headTree, Options{Renderer: renderer})
		if err != nil {
			b.Fatal(err)
		}
		changed := 0
		for _, e := range res.Environments {
			if e.Status == Changed {
				changed++
			}
		}
		if changed != wantChanged || len(res.Environments) != 500 {
			b.Fatalf("%d of %d environments changed, want %d of 500", changed, len(res.Environments), wantChanged)
		}
		base.Close()
		headTree.Close()
	}
}

// BenchmarkPreview500OneTouched: a change to one overlay of 500.
func BenchmarkPreview500OneTouched(b *testing.B) { benchmarkPreview(b, "one", 1) }

// BenchmarkPreview500BaseTouched: a change to a base shared by 125 overlays.
func BenchmarkPreview500BaseTouched(b *testing.B) { benchmarkPreview(b, "base", 125) }
