// Package kube is ferry's access to Kubernetes clusters: a dynamic client
// with a REST mapper that learns kinds as CRDs appear, and the resolution of
// an Application's destination (server URL or cluster name) to the cluster
// it stands for.
package kube

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Cluster is one cluster's API, as ferry uses it.
type Cluster struct {
	Dynamic dynamic.Interface
	// Metadata reads objects' metadata only: listing what ferry owns needs
	// no specs, and is several times cheaper without them.
	Metadata metadata.Interface
	// Mapper maps kinds to resources. It discovers lazily and rediscovers
	// when a kind is not found, so a CRD established after the first
	// mapping maps too.
	Mapper meta.RESTMapper
	// Config is the config the clients were built with.
	Config *rest.Config
}

// NewCluster builds the clients for cfg. It does not contact the server:
// discovery happens on the first mapping.
//
// A config that sets no QPS gets no client-side rate limit, as
// controller-runtime's do: the API server's priority and fairness is the
// real protection, ferry bounds its own concurrency, and client-go's
// default (5 per second) would stretch a sync of 300 objects to a minute.
func NewCluster(cfg *rest.Config) (*Cluster, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS = -1
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube: dynamic client for %s: %w", cfg.Host, err)
	}
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube: metadata client for %s: %w", cfg.Host, err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube: discovery client for %s: %w", cfg.Host, err)
	}
	mapper := &rediscoveringMapper{restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}
	return &Cluster{Dynamic: dyn, Metadata: md, Mapper: mapper, Config: cfg}, nil
}

// rediscoveringMapper resets discovery when a kind does not map. The
// deferred mapper alone only rediscovers while its cache is not fresh, and
// an in-memory cache stays fresh forever once filled, so a CRD created after
// the first mapping would never map.
type rediscoveringMapper struct {
	*restmapper.DeferredDiscoveryRESTMapper
}

func (m *rediscoveringMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	mapping, err := m.DeferredDiscoveryRESTMapper.RESTMapping(gk, versions...)
	if meta.IsNoMatchError(err) {
		m.ResetWithContext(context.Background())
		mapping, err = m.DeferredDiscoveryRESTMapper.RESTMapping(gk, versions...)
	}
	return mapping, err
}

func (m *rediscoveringMapper) RESTMappings(gk schema.GroupKind, versions ...string) ([]*meta.RESTMapping, error) {
	mappings, err := m.DeferredDiscoveryRESTMapper.RESTMappings(gk, versions...)
	if meta.IsNoMatchError(err) {
		m.ResetWithContext(context.Background())
		mappings, err = m.DeferredDiscoveryRESTMapper.RESTMappings(gk, versions...)
	}
	return mappings, err
}

func (m *rediscoveringMapper) KindFor(resource schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	gvk, err := m.DeferredDiscoveryRESTMapper.KindFor(resource)
	if meta.IsNoMatchError(err) {
		m.ResetWithContext(context.Background())
		gvk, err = m.DeferredDiscoveryRESTMapper.KindFor(resource)
	}
	return gvk, err
}
