package kube

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/ferry-gitops/ferry/internal/environment"
)

// Argo CD's names for the cluster it runs in.
const (
	InClusterServer = "https://kubernetes.default.svc"
	InClusterName   = "in-cluster"
)

// ErrUnknownDestination is returned (wrapped) for a destination no
// configured cluster answers to.
var ErrUnknownDestination = errors.New("unknown destination cluster")

// ClustersOptions configure how destinations resolve to clusters.
type ClustersOptions struct {
	// Kubeconfig is the kubeconfig file (ferry's --kubeconfig). Empty
	// means none: only the in-cluster destination resolves.
	Kubeconfig string
	// Contexts maps a destination's name or server URL to a context of
	// the kubeconfig (ferry's `clusters:` map). A mapping wins over every
	// other rule, the in-cluster one included, so that a developer can
	// point https://kubernetes.default.svc at a local cluster.
	Contexts map[string]string
	// InCluster builds the config of the cluster ferry runs in.
	InCluster func() (*rest.Config, error)
}

// DefaultClustersOptions resolve the in-cluster destination with the pod's
// service account, and nothing else.
func DefaultClustersOptions() ClustersOptions {
	return ClustersOptions{InCluster: rest.InClusterConfig}
}

// Clusters resolves Application destinations to clusters. Resolution, first
// match wins:
//
//  1. the destination's name, then its server, in Contexts;
//  2. server https://kubernetes.default.svc or name "in-cluster": the
//     cluster ferry runs in;
//  3. a name: the kubeconfig context of that name;
//  4. a server: the one kubeconfig context whose cluster has that server
//     URL (several are ambiguous: map one in Contexts).
//
// Clusters are built once per target and shared, so their discovery is too.
// It is safe for concurrent use.
type Clusters struct {
	opts       ClustersOptions
	kubeconfig *clientcmdapi.Config

	mu    sync.Mutex
	cache map[string]*Cluster
}

// NewClusters loads the kubeconfig and checks that every mapped context
// exists, so a typo fails at start-up rather than at the first sync.
func NewClusters(opts ClustersOptions) (*Clusters, error) {
	c := &Clusters{opts: opts, cache: map[string]*Cluster{}}
	if opts.Kubeconfig != "" {
		kc, err := clientcmd.LoadFromFile(opts.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("kube: load kubeconfig: %w", err)
		}
		c.kubeconfig = kc
	}
	for dest, name := range opts.Contexts {
		if c.kubeconfig == nil {
			return nil, fmt.Errorf("kube: cluster %q maps to context %q but no kubeconfig is given", dest, name)
		}
		if _, ok := c.kubeconfig.Contexts[name]; !ok {
			return nil, fmt.Errorf("kube: cluster %q maps to context %q, which %s does not define", dest, name, opts.Kubeconfig)
		}
	}
	return c, nil
}

// target is what a destination resolved to: a kubeconfig context, or the
// cluster ferry runs in (context "").
type target struct {
	context string
}

func (t target) String() string {
	if t.context == "" {
		return "in-cluster config"
	}
	return fmt.Sprintf("kubeconfig context %q", t.context)
}

func (c *Clusters) resolve(dest environment.Destination) (target, error) {
	server := strings.TrimSuffix(dest.Server, "/")
	switch {
	case dest.Name != "" && dest.Server != "":
		// Argo CD refuses these too: which one is meant is anyone's guess.
		return target{}, fmt.Errorf("kube: destination has both name %q and server %q: set one", dest.Name, dest.Server)
	case dest.Name == "" && dest.Server == "":
		return target{}, fmt.Errorf("kube: destination names no cluster: %w", ErrUnknownDestination)
	}
	if dest.Name != "" {
		if ctx, ok := c.opts.Contexts[dest.Name]; ok {
			return target{context: ctx}, nil
		}
	} else {
		for _, key := range []string{dest.Server, server} {
			if ctx, ok := c.opts.Contexts[key]; ok {
				return target{context: ctx}, nil
			}
		}
	}
	if dest.Name == InClusterName || server == InClusterServer {
		return target{}, nil
	}
	if c.kubeconfig == nil {
		return target{}, fmt.Errorf("kube: destination %s: no kubeconfig to look it up in: %w", describe(dest), ErrUnknownDestination)
	}
	if dest.Name != "" {
		if _, ok := c.kubeconfig.Contexts[dest.Name]; ok {
			return target{context: dest.Name}, nil
		}
		return target{}, fmt.Errorf("kube: destination %s: no such context in %s: %w", describe(dest), c.opts.Kubeconfig, ErrUnknownDestination)
	}
	var matches []string
	for name, kctx := range c.kubeconfig.Contexts {
		if cl, ok := c.kubeconfig.Clusters[kctx.Cluster]; ok && strings.TrimSuffix(cl.Server, "/") == server {
			matches = append(matches, name)
		}
	}
	sort.Strings(matches)
	switch len(matches) {
	case 0:
		return target{}, fmt.Errorf("kube: destination %s: no context of %s points at that server: %w", describe(dest), c.opts.Kubeconfig, ErrUnknownDestination)
	case 1:
		return target{context: matches[0]}, nil
	}
	return target{}, fmt.Errorf("kube: destination %s: contexts %s all point at that server: map it to one under clusters", describe(dest), strings.Join(matches, ", "))
}

// Config returns the client config for the destination's cluster.
func (c *Clusters) Config(dest environment.Destination) (*rest.Config, error) {
	t, err := c.resolve(dest)
	if err != nil {
		return nil, err
	}
	return c.config(dest, t)
}

func (c *Clusters) config(dest environment.Destination, t target) (*rest.Config, error) {
	if t.context == "" {
		if c.opts.InCluster == nil {
			return nil, fmt.Errorf("kube: destination %s is the cluster ferry runs in, and in-cluster access is off", describe(dest))
		}
		cfg, err := c.opts.InCluster()
		if err != nil {
			return nil, fmt.Errorf("kube: destination %s: in-cluster config: %w", describe(dest), err)
		}
		return cfg, nil
	}
	loader := &clientcmd.ClientConfigLoadingRules{ExplicitPath: c.opts.Kubeconfig}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(*c.kubeconfig, t.context, &clientcmd.ConfigOverrides{}, loader).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kube: destination %s: %s: %w", describe(dest), t, err)
	}
	return cfg, nil
}

// Cluster returns the destination's cluster, built on first use.
func (c *Clusters) Cluster(dest environment.Destination) (*Cluster, error) {
	t, err := c.resolve(dest)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.cache[t.context]; ok {
		return cl, nil
	}
	cfg, err := c.config(dest, t)
	if err != nil {
		return nil, err
	}
	cl, err := NewCluster(cfg)
	if err != nil {
		return nil, err
	}
	c.cache[t.context] = cl
	return cl, nil
}

func describe(d environment.Destination) string {
	if d.Name != "" {
		return fmt.Sprintf("name %q", d.Name)
	}
	return fmt.Sprintf("server %q", d.Server)
}
