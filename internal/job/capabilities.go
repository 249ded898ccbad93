package job

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// Defaults of Capabilities.
const (
	capabilitiesTTL     = 10 * time.Minute
	capabilitiesTimeout = 10 * time.Second
	capabilitiesRetry   = time.Minute
)

// Capabilities is a preview.Renderer that gives each Helm environment its
// destination cluster's version and API versions (Helm's .Capabilities, as
// Argo CD passes --kube-version and --api-versions) before the render is
// sent on to Renderer. What a cluster says is cached per destination for
// TTL; a destination that cannot be asked renders with
// render.DefaultKubeVersion, as with no cluster at all.
type Capabilities struct {
	Renderer preview.Renderer
	// Clusters resolves destinations; nil asks none.
	Clusters func(environment.Destination) (*kube.Cluster, error)
	// TTL is how long an answer is kept (a failure a minute); 0 means 10
	// minutes.
	TTL time.Duration
	now func() time.Time

	mu    sync.Mutex
	cache map[environment.Destination]*capsEntry
}

// capsEntry is one destination's answer; done is closed once caps is set.
type capsEntry struct {
	caps *environment.Capabilities
	at   time.Time
	ttl  time.Duration // how long it is kept: shorter for a failure
	done chan struct{}
}

// Render renders env with its destination's capabilities.
func (c *Capabilities) Render(ctx context.Context, tree *repofs.Tree, env environment.Environment) (*render.Result, error) {
	if env.Capabilities == nil && usesHelm(env) {
		env.Capabilities = c.lookup(ctx, env.Destination)
	}
	return c.Renderer.Render(ctx, tree, env)
}

// Open passes the trees on to a renderer that opens them ahead.
func (c *Capabilities) Open(trees ...*repofs.Tree) {
	if o, ok := c.Renderer.(interface{ Open(...*repofs.Tree) }); ok {
		o.Open(trees...)
	}
}

// usesHelm reports that one of env's sources is a Helm chart: only those
// read .Capabilities, and only they are worth asking a cluster for.
func usesHelm(env environment.Environment) bool {
	for _, v := range env.Views() {
		if v.Type == environment.Helm {
			return true
		}
	}
	return false
}

// lookup returns the destination's capabilities, from the cache or the
// cluster (one question at a time per destination); nil when unknown.
func (c *Capabilities) lookup(ctx context.Context, dest environment.Destination) *environment.Capabilities {
	if c.Clusters == nil {
		return nil
	}
	key := environment.Destination{Server: dest.Server, Name: dest.Name}
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	ttl := c.TTL
	if ttl <= 0 {
		ttl = capabilitiesTTL
	}
	c.mu.Lock()
	e, ok := c.cache[key]
	if !ok || now().Sub(e.at) >= e.ttl {
		e = &capsEntry{at: now(), ttl: ttl, done: make(chan struct{})}
		if c.cache == nil {
			c.cache = map[environment.Destination]*capsEntry{}
		}
		c.cache[key] = e
		c.mu.Unlock()
		caps, err := c.ask(ctx, dest)
		c.mu.Lock()
		switch {
		case err == nil:
			e.caps = caps
		case ctx.Err() != nil:
			e.ttl = 0 // ask again next time
		default:
			e.ttl = capabilitiesRetry // unknown: renders fall back to the default version
		}
		c.mu.Unlock()
		close(e.done)
		return e.caps
	}
	c.mu.Unlock()
	select {
	case <-e.done:
		return e.caps
	case <-ctx.Done():
		return nil
	}
}

// ask asks the destination's API server for its version and API
// resources, bounded by capabilitiesTimeout and ctx.
func (c *Capabilities) ask(ctx context.Context, dest environment.Destination) (*environment.Capabilities, error) {
	kc, err := c.Clusters(dest)
	if err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(kc.Config)
	cfg.Timeout = capabilitiesTimeout
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client for %s: %w", cfg.Host, err)
	}
	type answer struct {
		caps *environment.Capabilities
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		caps, err := discover(dc)
		done <- answer{caps, err}
	}()
	select {
	case a := <-done:
		return a.caps, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// discover reads a cluster's version and its API versions the way Argo CD
// hands them to Helm: every group/version, and group/version/Kind for each
// kind served.
func discover(dc discovery.DiscoveryInterface) (*environment.Capabilities, error) {
	v, err := dc.ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("server version: %w", err)
	}
	_, lists, err := dc.ServerGroupsAndResources()
	if err != nil && len(lists) == 0 {
		return nil, fmt.Errorf("server resources: %w", err)
	}
	seen := map[string]bool{}
	for _, l := range lists {
		seen[l.GroupVersion] = true
		for _, r := range l.APIResources {
			if r.Kind != "" && !strings.Contains(r.Name, "/") { // not a subresource
				seen[l.GroupVersion+"/"+r.Kind] = true
			}
		}
	}
	out := &environment.Capabilities{KubeVersion: v.GitVersion}
	for s := range seen {
		out.APIVersions = append(out.APIVersions, s)
	}
	sort.Strings(out.APIVersions)
	return out, nil
}
