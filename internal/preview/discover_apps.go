package preview

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// maxParentRenders bounds the renders one discovery makes to follow
// app-of-apps: a hostile parent could define thousands of parents.
const maxParentRenders = 256

// parent is an environment whose render may define environments.
type parent struct {
	env environment.Environment
}

// appOfApps expands one revision's app-of-apps.
type appOfApps struct {
	tree   *repofs.Tree
	opts   DiscoverOptions
	d      *environment.Discovery
	byName map[string]int // index in d.Environments
	// expanded are the environments already rendered for children.
	expanded map[string]bool
	// fathers are the environments whose render defined at least one child.
	fathers map[string]bool
	scan    *argoScan
	// renders counts the parents rendered, up to maxRenders.
	renders, maxRenders int
	// read are the files of renders that held Argo CD definitions.
	read map[string]bool
}

// expandChildren adds to d the environments that its environments define
// by rendering Argo CD Applications or ApplicationSets (app-of-apps),
// level by level, MaxDepth levels at most: each child is named as Argo CD
// names it (metadata.name), has Parent set, and is read with the checks a
// Git Application goes through. Only environments whose inputs mention
// argoproj.io are rendered, through opts.Renderer.
//
// A child whose name a Git Application already uses is Skipped, unless
// that Application's file is one the parent's render read (a directory of
// Applications): the rendered definition, which is what Argo CD would
// apply, then replaces the scanned one. A child that names one of its own
// ancestors is a cycle, refused with the chain; an environment that
// renders its own Application (self-management) is not. When discovery
// fell back to convention and some of those environments define children,
// the repository is taken to declare its environments through them:
// the others are dropped, as convention stays off where Applications exist.
func expandChildren(ctx context.Context, tree *repofs.Tree, d *environment.Discovery, opts DiscoverOptions) (*environment.Discovery, error) {
	x := &appOfApps{tree: tree, opts: opts, d: d, byName: map[string]int{},
		expanded: map[string]bool{}, fathers: map[string]bool{}, scan: newArgoScan(tree),
		maxRenders: cmp.Or(opts.maxRenders, maxParentRenders), read: map[string]bool{}}
	scanned := len(d.Skipped)
	conventional := len(d.Environments) > 0
	var level []parent
	for i, env := range d.Environments {
		x.byName[env.Name] = i
		conventional = conventional && env.Origin == environment.FromDiscovery
		if x.mayDefine(env) {
			level = append(level, parent{env: env})
		}
	}
	maxDepth := cmp.Or(opts.MaxDepth, DefaultMaxDepth)
	for depth := 0; len(level) > 0; depth++ {
		if depth == maxDepth {
			for _, p := range level {
				x.skip(p.env, fmt.Sprintf("the Applications %q renders are not discovered: app-of-apps is followed %d levels deep (%s)",
					p.env.Name, maxDepth, strings.Join(x.lineage(p.env.Name), " → ")))
			}
			break
		}
		level = x.budget(level)
		results := x.renderAll(ctx, level)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var next []parent
		for i, p := range level {
			next = append(next, x.adopt(p, results[i])...)
		}
		level = next
	}
	if conventional && len(x.fathers) > 0 {
		x.dropConventional()
	}
	x.dropExplained(scanned)
	sort.SliceStable(d.Environments, func(i, j int) bool { return d.Environments[i].Name < d.Environments[j].Name })
	return d, nil
}

// budget keeps the parents of a level that maxParentRenders allows; the
// others are Skipped.
func (x *appOfApps) budget(level []parent) []parent {
	n := min(len(level), x.maxRenders-x.renders)
	for _, p := range level[n:] {
		x.skip(p.env, fmt.Sprintf("the Applications %q renders are not discovered: discovery renders at most %d app-of-apps parents", p.env.Name, x.maxRenders))
	}
	x.renders += n
	return level[:n]
}

// rendered is one parent's render.
type rendered struct {
	res *render.Result
	err error
}

// renderAll renders a level's parents, a few at a time.
func (x *appOfApps) renderAll(ctx context.Context, level []parent) []rendered {
	out := make([]rendered, len(level))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, p := range level {
		x.expanded[p.env.Name] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				out[i].err = ctx.Err()
				return
			}
			defer func() { <-sem }()
			out[i].res, out[i].err = x.opts.Renderer.Render(ctx, x.tree, p.env)
		}()
	}
	wg.Wait()
	return out
}

// adopt reads the Argo CD definitions in p's render and returns the
// children that may define more in turn.
func (x *appOfApps) adopt(p parent, r rendered) []parent {
	if r.err != nil {
		x.skip(p.env, fmt.Sprintf("the Applications %q renders are not discovered: %v", p.env.Name, r.err))
		x.d.UnrenderedParents = append(x.d.UnrenderedParents, p.env.Name)
		return nil
	}
	var next []parent
	dopts := environment.DiscoverOptions{RepoURL: x.opts.RepoURL, Clusters: x.opts.Clusters}
	for _, obj := range r.res.Objects {
		if !isArgoDefinition(obj) {
			continue
		}
		for _, f := range r.res.Files {
			x.read[f] = true
		}
		file := cmp.Or(obj.Source, p.env.File)
		children, reasons := environment.RenderedDefinitions(x.tree, file, obj.Object, dopts)
		for _, reason := range reasons {
			x.skip(p.env, fmt.Sprintf("%s rendered by %q (%s): %s", obj.Key.Kind, p.env.Name, file, reason))
		}
		for _, child := range children {
			child.Parent = p.env.Name
			if x.place(p, child, r.res.Files) && x.mayDefine(child) {
				next = append(next, parent{env: child})
			}
		}
	}
	return next
}

// place adds child to the discovery, or says why not; it reports whether
// child is new there and not yet expanded.
func (x *appOfApps) place(p parent, child environment.Environment, read []string) bool {
	if child.Name == p.env.Name {
		return false // self-management: the parent renders its own Application
	}
	chain := append(x.lineage(p.env.Name), child.Name)
	if i := indexOf(chain, child.Name); i < len(chain)-1 {
		x.skip(p.env, fmt.Sprintf("Application %q rendered by %q makes an app-of-apps cycle (%s); it is refused",
			child.Name, p.env.Name, strings.Join(chain[i:], " → ")))
		return false
	}
	i, exists := x.byName[child.Name]
	if !exists {
		x.byName[child.Name] = len(x.d.Environments)
		x.d.Environments = append(x.d.Environments, child)
		x.fathers[p.env.Name] = true
		return true
	}
	prev := x.d.Environments[i]
	if !replaceable(prev, read) {
		where := cmp.Or(prev.File, prev.Path)
		if prev.Parent != "" {
			where = fmt.Sprintf("the render of %q", prev.Parent)
		}
		x.skip(p.env, fmt.Sprintf("Application %q rendered by %q is already defined by %s", child.Name, p.env.Name, where))
		return false
	}
	x.d.Environments[i] = child
	x.fathers[p.env.Name] = true
	return !x.expanded[child.Name]
}

// replaceable reports whether a child may take the place of prev: a guess
// by convention, or a Git Application from a file the parent's render read.
func replaceable(prev environment.Environment, read []string) bool {
	if prev.Parent != "" {
		return false
	}
	if prev.Origin == environment.FromDiscovery {
		return true
	}
	i := sort.SearchStrings(read, prev.File)
	return prev.Origin == environment.FromApplication && i < len(read) && read[i] == prev.File
}

// dropConventional keeps, of a discovery by convention, the environments
// that define children and the children.
func (x *appOfApps) dropConventional() {
	keep := x.d.Environments[:0]
	for _, env := range x.d.Environments {
		if env.Parent != "" || x.fathers[env.Name] {
			keep = append(keep, env)
		}
	}
	x.d.Environments = keep
}

// dropExplained drops, of the first n Skipped entries (Git discovery's),
// those about files a parent's render read and found definitions in: the
// Applications in a chart's templates are not discovered in Git, but they
// are through the render, which checks each one (and says why, should one
// be unusable).
func (x *appOfApps) dropExplained(n int) {
	kept := x.d.Skipped[:0]
	for i, s := range x.d.Skipped {
		if i >= n || !x.read[s.File] {
			kept = append(kept, s)
		}
	}
	x.d.Skipped = kept
}

// skip records a definition p's render could not give, under p's file.
func (x *appOfApps) skip(p environment.Environment, reason string) {
	x.d.Skipped = append(x.d.Skipped, environment.Skipped{File: cmp.Or(p.File, p.Path), Reason: reason})
}

// isArgoDefinition reports whether obj defines environments.
func isArgoDefinition(obj manifest.Object) bool {
	return strings.HasPrefix(obj.APIVersion(), "argoproj.io/") && (obj.Key.Kind == "Application" || obj.Key.Kind == "ApplicationSet")
}

// lineage is name's chain of parents as defined so far, name last.
func (x *appOfApps) lineage(name string) []string {
	chain := []string{name}
	for len(chain) <= len(x.d.Environments) {
		i, ok := x.byName[chain[0]]
		if !ok || x.d.Environments[i].Parent == "" {
			break
		}
		chain = append([]string{x.d.Environments[i].Parent}, chain...)
	}
	return chain
}

// indexOf is where s first is in list (len(list) when absent).
func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return len(list)
}
