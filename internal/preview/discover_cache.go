package preview

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// renderCache keeps the renders discovery makes of app-of-apps parents so
// the planner, which renders the same parents to diff them, does not
// render them a second time. Each render is made once however many ask
// for it at once.
type renderCache struct {
	inner Renderer
	mu    sync.Mutex
	m     map[cacheKey]*cached
}

type cacheKey struct {
	tree *repofs.Tree
	env  string // the definition as JSON
}

type cached struct {
	done chan struct{}
	res  *render.Result
	err  error
}

func newRenderCache(inner Renderer) *renderCache {
	return &renderCache{inner: inner, m: map[cacheKey]*cached{}}
}

func keyOf(tree *repofs.Tree, env environment.Environment) (cacheKey, bool) {
	b, err := json.Marshal(env)
	return cacheKey{tree: tree, env: string(b)}, err == nil
}

// Render renders env once and keeps the result for take.
func (c *renderCache) Render(ctx context.Context, tree *repofs.Tree, env environment.Environment) (*render.Result, error) {
	k, ok := keyOf(tree, env)
	if !ok {
		return c.inner.Render(ctx, tree, env)
	}
	c.mu.Lock()
	e, found := c.m[k]
	if !found {
		e = &cached{done: make(chan struct{})}
		c.m[k] = e
	}
	c.mu.Unlock()
	if !found {
		e.res, e.err = c.inner.Render(ctx, tree, env)
		close(e.done)
	}
	select {
	case <-e.done:
		return e.res, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Open passes the trees on to a renderer that opens them ahead.
func (c *renderCache) Open(trees ...*repofs.Tree) {
	if o, ok := c.inner.(opener); ok {
		o.Open(trees...)
	}
}

// reuse is the planner's view of the cache: a render discovery already
// made is handed over (and forgotten); anything else renders afresh and
// is not kept.
type reuse struct{ c *renderCache }

func (r reuse) Render(ctx context.Context, tree *repofs.Tree, env environment.Environment) (*render.Result, error) {
	k, ok := keyOf(tree, env)
	if ok {
		r.c.mu.Lock()
		e, found := r.c.m[k]
		delete(r.c.m, k)
		r.c.mu.Unlock()
		if found {
			select {
			case <-e.done:
				return e.res, e.err
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	return r.c.inner.Render(ctx, tree, env)
}
