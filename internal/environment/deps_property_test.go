package environment_test

import (
	"context"
	"encoding/json"
	"flag"
	"math/rand"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

var (
	depsSeed  = flag.Int64("deps.seed", 0, "first seed of TestDependenciesCoverRenders (0: from the clock)")
	depsRepos = flag.Int("deps.repos", 150, "repositories TestDependenciesCoverRenders generates")
)

// TestDependenciesCoverRenders is the property behind `ferry diff`'s
// shortcut: over generated repositories whose environments share files
// through symlinks, edited at random, the statically computed inputs of
// every environment contain every file its render read, at base and at
// head, so a change to any of them is never "not affected". And whenever
// the render's outcome (objects or error) differs between base and head,
// the dependencies on one side are touched by the changed files.
//
// Each repository has its own seed, printed on failure; rerun one with
// -run TestDependenciesCoverRenders -deps.seed=N -deps.repos=1.
func TestDependenciesCoverRenders(t *testing.T) {
	seed := *depsSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	repos := *depsRepos
	if testing.Short() {
		repos = 10
	}
	stats := map[string]int{}
	for i := range repos {
		checkRepository(t, seed+int64(i), stats)
		if t.Failed() {
			return
		}
	}
	// The generator must exercise the cases that matter, or the property
	// holds vacuously.
	t.Logf("seeds %d..%d: %v", seed, seed+int64(repos)-1, stats)
	if repos >= 30 && (stats["rendered"] < repos || stats["changed-outcome"] < repos/4 || stats["read-through-link"] < repos) {
		t.Errorf("the generated repositories exercise too little: %v", stats)
	}
}

func checkRepository(t *testing.T, seed int64, stats map[string]int) {
	g := &repoGen{r: rand.New(rand.NewSource(seed)), files: map[string]string{}}
	envs := g.generate()
	head := g.clone()
	var edits []string
	for range 1 + g.r.Intn(3) {
		edits = append(edits, head.edit())
	}
	baseTree, headTree := testrepo.Tree(t, g.files), testrepo.Tree(t, head.files)
	changed := repofs.Changed(baseTree, headTree)
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("seed %d (edits %q, changed %q): "+format, append([]any{seed, edits, changed}, args...)...)
	}
	for _, env := range envs {
		var outcomes [2]string
		var touched bool
		for i, tr := range []*repofs.Tree{baseTree, headTree} {
			side := [2]string{"base", "head"}[i]
			deps, derr := environment.Dependencies(tr, env)
			res, rerr := render.Render(context.Background(), tr, env, render.Options{})
			outcomes[i] = outcome(res, rerr)
			touched = touched || derr != nil || deps.Touches(changed)
			if rerr != nil || derr != nil {
				continue
			}
			stats["rendered"]++
			for _, f := range res.Files {
				if !deps.Touches([]string{f}) {
					fail("%s at %s: the render read %s, missing from the dependencies %s", env.Name, side, f, sprintValue(deps))
				}
			}
			if readThroughLink(tr, res.Files) {
				stats["read-through-link"]++
			}
		}
		if outcomes[0] != outcomes[1] {
			stats["changed-outcome"]++
			if !touched {
				fail("%s: the render changed (base %s, head %s) but its dependencies are not touched", env.Name, outcomes[0], outcomes[1])
			}
		}
	}
}

// outcome summarizes a render: its error, or its objects.
func outcome(res *render.Result, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	b, err := json.Marshal(res.Objects)
	if err != nil {
		return "unencodable: " + err.Error()
	}
	return string(b)
}

// readThroughLink reports whether a render read some file through a symlink.
func readThroughLink(tr *repofs.Tree, files []string) bool {
	for _, f := range files {
		if real, err := tr.Resolve(f); err == nil && real != f {
			return true
		}
	}
	return false
}
