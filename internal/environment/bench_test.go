package environment_test

import (
	"fmt"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// generated writes testrepo.GenerateOverlays(n) into a temporary directory.
func generated(tb testing.TB, n int) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := testrepo.GenerateOverlays(dir, n); err != nil {
		tb.Fatal(err)
	}
	return dir
}

func TestDiscoverGenerated(t *testing.T) {
	const n = 40
	tr, err := repofs.OpenDir(generated(t, n))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	d, err := environment.Discover(tr, environment.DiscoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Environments) != n {
		t.Fatalf("found %d environments, want the %d overlays", len(d.Environments), n)
	}
	for i, e := range d.Environments {
		if want := fmt.Sprintf("overlays/env-%03d", i); e.Name != want || e.Type != environment.Kustomize {
			t.Errorf("environment %d = %s (%s), want %s (kustomize)", i, e.Name, e.Type, want)
		}
	}
}

// BenchmarkDiscover500 discovers the 500 leaf overlays of a generated
// repository by convention (the slowest path: every kustomization is read
// and parsed). Each iteration opens a fresh tree so no file is cached.
func BenchmarkDiscover500(b *testing.B) {
	benchmarkDiscover(b, generated(b, 500), 500)
}

// BenchmarkDiscover500Application is the same repository with one
// Application: every YAML file is read but, lacking "argoproj.io", none is
// parsed, and convention is not needed.
func BenchmarkDiscover500Application(b *testing.B) {
	dir := generated(b, 500)
	testrepo.Write(b, dir, map[string]string{"apps/env-000.yaml": app("env-000", "overlays/env-000")})
	benchmarkDiscover(b, dir, 1)
}

func benchmarkDiscover(b *testing.B, dir string, want int) {
	for b.Loop() {
		b.StopTimer()
		tr, err := repofs.OpenDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		d, err := environment.Discover(tr, environment.DiscoverOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if len(d.Environments) != want {
			b.Fatalf("found %d environments, want %d", len(d.Environments), want)
		}
		b.StopTimer()
		tr.Close()
		b.StartTimer()
	}
}

// BenchmarkDependencies500 computes the dependencies of all 500 generated
// overlays and checks one change against them, as deciding which
// environments a pull request touches does.
func BenchmarkDependencies500(b *testing.B) {
	dir := generated(b, 500)
	tr, err := repofs.OpenDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	d, err := environment.Discover(tr, environment.DiscoverOptions{})
	if err != nil {
		b.Fatal(err)
	}
	changed := []string{"bases/service-1/configmap.yaml"}
	for b.Loop() {
		touched := 0
		for _, e := range d.Environments {
			deps, err := environment.Dependencies(tr, e)
			if err != nil {
				b.Fatal(err)
			}
			if deps.Touches(changed) {
				touched++
			}
		}
		if touched != 500/testrepo.GeneratedBases {
			b.Fatalf("touched %d", touched)
		}
	}
}
