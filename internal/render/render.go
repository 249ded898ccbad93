package render

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/fetch"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// DefaultKubeVersion is the cluster version Helm templates see through
// .Capabilities when Options.KubeVersion is empty.
const DefaultKubeVersion = "v1.37.0"

// Options tune a render.
type Options struct {
	Limits Limits
	// KubeVersion is the cluster version for Helm's .Capabilities, e.g. "v1.37.2".
	KubeVersion string
	// Remote fetches charts and remote Kustomize bases from the allowed
	// repositories; nil refuses every remote source. A render worker makes
	// its own (see package sandbox), so it never travels.
	Remote Remote `json:"-"`
}

// Remote is where a render gets what is not in the repository (package
// fetch, in a render worker).
type Remote interface {
	Chart(ctx context.Context, ref fetch.ChartRef) (*fetch.Chart, error)
	Git(ctx context.Context, url, ref string) (*fetch.GitTree, error)
}

// Result is one environment's rendered output.
type Result struct {
	Objects []manifest.Object // sorted with manifest.Sort; Object.Source set where known (the repo file)
	Files   []string          // sorted, deduplicated repo paths the render read (clean, relative, as repofs uses), including env.File when set and every symlink followed (a link to a directory too)
}

// job is one render in flight.
type job struct {
	ctx    context.Context
	tree   *repofs.Tree
	env    environment.Environment
	opts   Options
	r      *reader
	output outputBudget
}

// Render renders env from tree. It is safe to call concurrently for many
// environments sharing one tree. Errors are *Error.
func Render(ctx context.Context, tree *repofs.Tree, env environment.Environment, opts Options) (*Result, error) {
	opts.Limits = opts.Limits.withDefaults()
	if opts.KubeVersion == "" {
		opts.KubeVersion = DefaultKubeVersion
	}
	if tree == nil {
		return nil, &Error{Env: env.Name, Err: errors.New("no repository tree to render from")}
	}
	if env.External {
		return nil, &Error{Env: env.Name, File: env.File, Err: fmt.Errorf("source %s is another repository; ferry renders only this one", env.RepoURL)}
	}

	var r *reader
	objs, err := bounded(ctx, opts.Limits.Timeout, func(ctx context.Context) ([]manifest.Object, error) {
		j := &job{ctx: ctx, tree: tree, env: env, opts: opts, output: outputBudget{limit: opts.Limits.MaxOutputBytes}}
		j.r = newReader(ctx, tree, opts.Limits)
		r = j.r
		return j.run()
	})
	if err != nil {
		return nil, reduceError(withEnv(env.Name, err))
	}

	files := r.list()
	if env.File != "" {
		if f, err := repofs.Clean(env.File); err == nil {
			files = appendUnique(files, f)
		}
	}
	manifest.Sort(objs)
	return &Result{Objects: objs, Files: files}, nil
}

func (j *job) run() ([]manifest.Object, error) {
	if len(j.env.Sources) > 0 {
		return j.sources() // spec.sources: see sources.go
	}
	switch j.env.Type {
	case environment.Kustomize:
		return j.kustomize()
	case environment.Helm:
		return j.helm()
	case environment.Directory:
		return j.directory()
	default:
		return nil, &Error{File: j.env.File, Err: fmt.Errorf("unknown source type %q", j.env.Type)}
	}
}

// sourceDir returns the environment's directory, which must exist in the tree.
func (j *job) sourceDir() (string, error) {
	dir, err := repofs.Clean(j.env.Path)
	if err != nil {
		return "", &Error{File: j.env.File, Err: fmt.Errorf("source path %q: %w", j.env.Path, err)}
	}
	if !j.tree.IsDir(dir) {
		return "", &Error{File: j.env.File, Err: fmt.Errorf("source path %q is not a directory in the repository", j.env.Path)}
	}
	return dir, nil
}

func withEnv(env string, err error) error {
	var re *Error
	if errors.As(err, &re) {
		out := *re
		out.Env = env
		return &out
	}
	return &Error{Env: env, Err: err}
}

func appendUnique(sorted []string, s string) []string {
	i := sort.SearchStrings(sorted, s)
	if i < len(sorted) && sorted[i] == s {
		return sorted
	}
	sorted = append(sorted, "")
	copy(sorted[i+1:], sorted[i:])
	sorted[i] = s
	return sorted
}
