package preview

import (
	"context"

	"github.com/ferry-gitops/ferry/internal/appset"
	"github.com/ferry-gitops/ferry/internal/config"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// DefaultMaxDepth is how many levels of app-of-apps Discover follows below
// the environments Git defines.
const DefaultMaxDepth = 5

// DiscoverOptions tune Discover.
type DiscoverOptions struct {
	// RepoURL is the repository being read; Applications pointing
	// elsewhere are external. Empty means every Application points here.
	RepoURL string
	// Clusters are what an ApplicationSet's clusters generator selects
	// from: the server's configured clusters, or the CLI's --clusters file.
	Clusters []appset.Cluster
	// Renderer renders the environments whose render may define more
	// environments (app-of-apps). The server passes its sandbox pool: the
	// tree may be a pull request's. Nil expands no app-of-apps: parents
	// stay plain environments and define no children.
	Renderer Renderer
	// MaxDepth bounds app-of-apps nesting; 0 means DefaultMaxDepth.
	MaxDepth int
	// maxRenders overrides maxParentRenders (tests).
	maxRenders int
}

// Discover finds a revision's environments, with the .ferry.yaml of that
// revision: the head's environments are what the head would deploy. (What
// judges the change — diff settings, policies — comes from the base.)
//
// With a Renderer, environments whose render produces Argo CD Applications
// of this repository (app-of-apps) define those Applications as
// environments too, recursively; see expandChildren.
func Discover(ctx context.Context, tree *repofs.Tree, opts DiscoverOptions) (*environment.Discovery, error) {
	cfg, err := config.Load(tree)
	if err != nil {
		return nil, err
	}
	d, err := environment.Discover(tree, environment.DiscoverOptions{RepoURL: opts.RepoURL, Config: cfg, Clusters: opts.Clusters})
	if err != nil || opts.Renderer == nil {
		return d, err
	}
	return expandChildren(ctx, tree, d, opts)
}
