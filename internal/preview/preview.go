// Package preview answers "what does this change do to each environment?":
// it discovers the environments at two revisions, decides cheaply which ones
// the changed files can touch, renders only those at both revisions, and diffs
// them per resource. It is the engine behind `ferry diff` and the PR comment.
package preview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/ferry-gitops/ferry/internal/appset"
	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// Options tune a preview.
type Options struct {
	// RepoURL is the repository being previewed; Applications pointing
	// elsewhere are external. Empty means every Application points here.
	RepoURL string
	// Clusters are what ApplicationSets' clusters generators select from.
	Clusters []appset.Cluster
	// Apps restricts the preview to these environment names (all when empty).
	Apps []string
	// Renderer renders each environment; nil renders in this process with
	// Render's options. The server and the CLI pass a sandbox.Pool.
	Renderer Renderer
	// Render and Diff are passed through to the render and diff engines.
	Render render.Options
	Diff   diff.Options
	// Parallelism bounds concurrent renders; 0 means GOMAXPROCS.
	Parallelism int
}

// renderer is the Renderer to use: opts.Renderer, or InProcess.
func (o Options) renderer() Renderer {
	if o.Renderer != nil {
		return o.Renderer
	}
	return InProcess(o.Render)
}

// Renderer renders one environment of a tree.
type Renderer interface {
	Render(ctx context.Context, tree *repofs.Tree, env environment.Environment) (*render.Result, error)
}

// opener is a Renderer that can open trees ahead of the renders.
type opener interface {
	Open(trees ...*repofs.Tree)
}

// InProcess renders in the calling process: for tests and for trees ferry
// trusts. Untrusted pull requests go through a sandbox.Pool.
type InProcess render.Options

// Render renders env with the options InProcess holds.
func (o InProcess) Render(ctx context.Context, tree *repofs.Tree, env environment.Environment) (*render.Result, error) {
	return render.Render(ctx, tree, env, render.Options(o))
}

// Run previews the change from base to head.
func Run(ctx context.Context, base, head *repofs.Tree, opts Options) (*Result, error) {
	start := time.Now()
	cache := newRenderCache(opts.renderer())
	cache.Open(base, head) // in the background, while discovery reads
	dopts := DiscoverOptions{RepoURL: opts.RepoURL, Clusters: opts.Clusters, Renderer: cache}
	opts.Renderer = reuse{cache} // the planner takes over discovery's renders
	baseEnvs, err := Discover(ctx, base, dopts)
	if err != nil {
		return nil, fmt.Errorf("discover environments at base %s: %w", label(base), err)
	}
	headEnvs, err := Discover(ctx, head, dopts)
	if err != nil {
		return nil, fmt.Errorf("discover environments at head %s: %w", label(head), err)
	}
	res := &Result{Base: label(base), Head: label(head), ChangedFiles: repofs.Changed(base, head)}
	for _, s := range append(baseEnvs.Skipped, headEnvs.Skipped...) {
		// A YAML library's reason can quote what it could not parse.
		res.Skipped = append(res.Skipped, diff.MaskWith(opts.Diff.Mask, fmt.Sprintf("%s: %s", s.File, s.Reason)))
	}
	res.Skipped = dedupe(res.Skipped)

	pairs := pairUp(baseEnvs.Environments, headEnvs.Environments, opts.Apps)
	p := &planner{base: base, head: head, changed: res.ChangedFiles, opts: opts}
	res.Environments = p.run(ctx, pairs)
	res.Duration = time.Since(start)
	return res, ctx.Err()
}

func label(t *repofs.Tree) string {
	if t.Revision == "" {
		return "working tree"
	}
	return t.Revision
}

// pair is one environment name at both revisions; either side may be nil
// when the change adds or removes the environment.
type pair struct {
	name       string
	base, head *environment.Environment
}

func pairUp(base, head []environment.Environment, only []string) []pair {
	want := map[string]bool{}
	for _, n := range only {
		want[n] = true
	}
	byName := map[string]*pair{}
	var names []string
	get := func(name string) *pair {
		p, ok := byName[name]
		if !ok {
			p = &pair{name: name}
			byName[name] = p
			names = append(names, name)
		}
		return p
	}
	for i := range base {
		if len(want) == 0 || want[base[i].Name] {
			get(base[i].Name).base = &base[i]
		}
	}
	for i := range head {
		if len(want) == 0 || want[head[i].Name] {
			get(head[i].Name).head = &head[i]
		}
	}
	sort.Strings(names)
	out := make([]pair, 0, len(names))
	for _, n := range names {
		out = append(out, *byName[n])
	}
	return out
}

type planner struct {
	base, head *repofs.Tree
	changed    []string
	opts       Options
}

func (p *planner) run(ctx context.Context, pairs []pair) []EnvironmentResult {
	results := make([]EnvironmentResult, len(pairs))
	limit := p.opts.Parallelism
	if limit <= 0 {
		limit = runtime.GOMAXPROCS(0)
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i, pr := range pairs {
		results[i] = p.classify(pr)
		if results[i].Status != "" {
			continue // decided without rendering
		}
		wg.Add(1)
		go func(i int, pr pair) {
			defer wg.Done()
			results[i] = p.renderAndDiff(ctx, pr, sem)
		}(i, pr)
	}
	wg.Wait()
	return results
}

// classify settles the environments that need no render: external ones and
// those whose dependencies the change does not touch. It leaves Status empty
// for the rest.
func (p *planner) classify(pr pair) EnvironmentResult {
	env := pr.head
	if env == nil {
		env = pr.base
	}
	r := EnvironmentResult{Name: pr.name, Env: *env, Type: env.Type, Path: env.Path, Destination: env.Destination, Resources: []diff.Change{}}
	switch {
	case pr.base == nil:
		r.Lifecycle = "added"
	case pr.head == nil:
		r.Lifecycle = "removed"
	}
	if env.External {
		r.Status = External
		return r
	}
	if r.Lifecycle != "" || !sameDefinition(pr.base, pr.head) {
		return r
	}
	if !p.mayTouch(p.base, pr.base) && !p.mayTouch(p.head, pr.head) {
		r.Status = Unchanged
	}
	return r
}

// mayTouch is the cheap, conservative test: static dependencies of the
// environment against the changed files. An analysis error counts as touched.
func (p *planner) mayTouch(tree *repofs.Tree, env *environment.Environment) bool {
	deps, err := environment.Dependencies(tree, *env)
	if err != nil {
		return true
	}
	return deps.Touches(p.changed)
}

func sameDefinition(a, b *environment.Environment) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

type side struct {
	res *render.Result
	err error
	dur time.Duration
}

func (p *planner) renderSide(ctx context.Context, tree *repofs.Tree, env *environment.Environment, sem chan struct{}) side {
	if env == nil {
		return side{res: &render.Result{}}
	}
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return side{err: ctx.Err()}
	}
	defer func() { <-sem }()
	start := time.Now()
	res, err := p.opts.renderer().Render(ctx, tree, *env)
	return side{res: res, err: err, dur: time.Since(start)}
}

func (p *planner) renderAndDiff(ctx context.Context, pr pair, sem chan struct{}) EnvironmentResult {
	r := p.classify(pr)
	var b, h side
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); b = p.renderSide(ctx, p.base, pr.base, sem) }()
	h = p.renderSide(ctx, p.head, pr.head, sem)
	wg.Wait()
	r.RenderTime = b.dur + h.dur

	if h.err != nil {
		setError(&r, h.err, p.opts.Diff.Mask)
		r.Touched = true
		return r
	}
	baseObjs := b.res
	if b.err != nil {
		// A base that never rendered (already broken on the target branch)
		// must not hide what the head would deploy: diff against nothing.
		r.BaseError = diff.MaskWith(p.opts.Diff.Mask, b.err.Error())
		baseObjs = &render.Result{}
	}
	r.Touched = r.Lifecycle != "" || !sameDefinition(pr.base, pr.head) || touches(p.changed, baseObjs.Files, h.res.Files)
	r.Head, r.Files = h.res.Objects, h.res.Files
	changes := diff.Compare(baseObjs.Objects, h.res.Objects, p.opts.Diff)
	r.Status = Unchanged
	for _, c := range changes {
		switch c.Change {
		case diff.Added:
			r.Counts.Added++
		case diff.Removed:
			r.Counts.Removed++
		case diff.Changed:
			r.Counts.Changed++
		default:
			r.Counts.Unchanged++
			continue
		}
		r.Status = Changed
		r.Resources = append(r.Resources, c)
	}
	// What renders differently is touched, whatever the file lists say:
	// policy and scanning must never skip a change they did not see coming.
	r.Touched = r.Touched || r.Status == Changed
	return r
}

// setError records a render error, its text masked: kustomize and Helm
// quote what they choke on.
func setError(r *EnvironmentResult, err error, m diff.Masker) {
	r.Status = Error
	r.Error = err.Error()
	var re *render.Error
	if errors.As(err, &re) {
		r.ErrorFile, r.ErrorLine = re.File, re.Line
		if re.Err != nil {
			r.Error = re.Err.Error()
		}
	}
	r.Error = diff.MaskWith(m, r.Error)
}

// touches reports whether a changed file is among those a render read.
func touches(changed []string, read ...[]string) bool {
	set := make(map[string]bool, len(changed))
	for _, c := range changed {
		set[c] = true
	}
	for _, files := range read {
		for _, f := range files {
			if set[f] {
				return true
			}
		}
	}
	return false
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	out := in[:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
