package job

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferry-gitops/ferry/internal/config"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/work"
)

// registry is what the repository's default branch defines: its
// environments (where each deploys, which branch it follows, how it syncs)
// and its .ferry.yaml. Only the default branch defines environments: an
// Application that exists on another branch, or that a pushed commit
// changes, decides nothing until it is merged there.
type registry struct {
	branch string
	found  *environment.Discovery
	cfg    *config.Config
}

// defaultBranch is the repository's default branch; records queued before
// it was carried fall back to fallback.
func defaultBranch(repo work.Repo, fallback string) string {
	if repo.DefaultBranch != "" {
		return repo.DefaultBranch
	}
	return fallback
}

// readRegistry reads the environments defined at the tip of the default
// branch, already fetched into the mirror dir, app-of-apps children too.
func (r Repos) readRegistry(ctx context.Context, dir string, repo work.Repo, branch string) (*registry, error) {
	tree, err := repofs.OpenGit(ctx, dir, branchRef(branch))
	if err != nil {
		return nil, queue.Permanent(err)
	}
	defer tree.Close()
	g := &registry{branch: branch}
	opts := r.Discovery
	opts.RepoURL = repo.HTMLURL
	if g.found, err = preview.Discover(ctx, tree, opts); err != nil {
		return nil, queue.Permanent(fmt.Errorf("environments of the default branch %s: %w", branch, err))
	}
	if g.cfg, err = config.Load(tree); err != nil {
		return nil, queue.Permanent(fmt.Errorf("default branch %s: %w", branch, err))
	}
	return g, nil
}

// env is the environment the default branch defines under name.
func (g *registry) env(name string) (environment.Environment, bool) {
	for _, e := range g.found.Environments {
		if e.Name == name && !e.External {
			return e, true
		}
	}
	return environment.Environment{}, false
}

// targetBranch is the branch env follows: its targetRevision, or the
// default branch when it names none (or HEAD).
func (g *registry) targetBranch(env environment.Environment) string {
	rev := strings.TrimPrefix(env.TargetRevision, "refs/heads/")
	if rev == "" || rev == "HEAD" {
		return g.branch
	}
	return rev
}

// touched reports whether a push's changed files touch env's files at
// either side, or those of an environment whose render defines it
// (app-of-apps: the parent's values can change the child's spec). Files
// that cannot be worked out count as touched. A nil registry knows no
// parents.
func (g *registry) touched(env environment.Environment, before, after *repofs.Tree, changed []string) bool {
	for seen := map[string]bool{}; !seen[env.Name]; {
		seen[env.Name] = true
		if touches(after, env, changed) || touches(before, env, changed) {
			return true
		}
		if env.Parent == "" || g == nil || g.found == nil {
			return false
		}
		parent, ok := g.env(env.Parent)
		if !ok {
			return false
		}
		env = parent
	}
	return false
}
