package preview

import (
	"context"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// WithoutDefinitions renders with r and leaves out the Argo CD
// Applications and ApplicationSets the render holds: in an app-of-apps
// they define environments, which ferry discovers and syncs itself, and
// there is no Argo CD controller in the cluster to apply them for.
func WithoutDefinitions(r Renderer) Renderer { return withoutDefinitions{r} }

type withoutDefinitions struct{ inner Renderer }

func (w withoutDefinitions) Render(ctx context.Context, tree *repofs.Tree, env environment.Environment) (*render.Result, error) {
	res, err := w.inner.Render(ctx, tree, env)
	if err != nil || res == nil {
		return res, err
	}
	kept := make([]manifest.Object, 0, len(res.Objects))
	for _, o := range res.Objects {
		if !isArgoDefinition(o) {
			kept = append(kept, o)
		}
	}
	out := *res
	out.Objects = kept
	return &out, nil
}
