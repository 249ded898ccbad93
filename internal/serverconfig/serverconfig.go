// Package serverconfig reads the file `ferry serve --config` names: the
// clusters ferry deploys to and the projects that bound what each
// repository may deploy there. It is the operator's file, never a
// repository's: a pull request can't change it.
package serverconfig

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/fetch"
	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/project"
	"github.com/ferry-gitops/ferry/internal/strictyaml"
)

// maxSize bounds the file; a real one is a few kilobytes.
const maxSize = 1 << 20

// Config is the whole file.
type Config struct {
	Clusters []Cluster `json:"clusters,omitempty"`
	// Projects are Argo CD AppProject specs with a name and the
	// repositories that may use each (repos: [acme/*]). Each one's Source
	// is "FILE:LINE".
	Projects []project.Project `json:"projects,omitempty"`
	// Repositories are the only places renders fetch from: Helm chart
	// repositories, OCI registries and Git repositories of remote
	// Kustomize bases.
	Repositories fetch.Allowlist `json:"repositories,omitempty"`
}

// Cluster is one destination cluster.
type Cluster struct {
	Name   string `json:"name"`
	Server string `json:"server"`
	// Context is the kubeconfig context that reaches the cluster.
	Context string            `json:"context,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	Line    int               `json:"-"`
}

// file is Config as decoded: projects carry their line (project.Project
// has no Line field, so an entry inlines it next to one).
type file struct {
	Clusters     []Cluster          `json:"clusters,omitempty"`
	Projects     []projectEntry     `json:"projects,omitempty"`
	Repositories []fetch.Repository `json:"repositories,omitempty"`
}

type projectEntry struct {
	project.Project
	Line int `json:"-"`
}

// Load reads and checks the file at path. Every error names the file, and
// the line where there is one.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("server configuration: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("server configuration %s: %w", path, err)
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("server configuration %s: larger than %d bytes", path, maxSize)
	}
	return Parse(data, path)
}

// Parse reads the file's contents; name is used in messages.
func Parse(data []byte, name string) (*Config, error) {
	var raw file
	if err := strictyaml.Decode(data, name, &raw); err != nil {
		return nil, err
	}
	c := &Config{Clusters: raw.Clusters, Repositories: raw.Repositories}
	for _, p := range raw.Projects {
		p.Source = fmt.Sprintf("%s:%d", name, p.Line)
		c.Projects = append(c.Projects, p.Project)
	}
	if err := c.validate(name, raw.Projects); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) validate(name string, projects []projectEntry) error {
	if err := validateClusters(name, c.Clusters, true); err != nil {
		return err
	}
	for _, r := range c.Repositories {
		if err := (fetch.Allowlist{r}).Validate(); err != nil {
			return &manifest.ParseError{File: name, Line: r.Line, Err: err}
		}
	}
	seen := map[string]int{}
	for _, p := range projects {
		if prev := seen[p.Name]; prev != 0 {
			return &manifest.ParseError{File: name, Line: p.Line, Err: fmt.Errorf("project %q is defined twice (first at line %d)", p.Name, prev)}
		}
		seen[p.Name] = p.Line
	}
	return nil
}

// Fetch is what renders may fetch, with the cache in cacheDir; nil (fetch
// nothing) when no repository is allowed.
func (c *Config) Fetch(cacheDir string) *fetch.Config {
	if c == nil || len(c.Repositories) == 0 {
		return nil
	}
	return &fetch.Config{Repositories: c.Repositories, CacheDir: cacheDir}
}

// Contexts maps each cluster's name and server (without a trailing "/",
// which kube.Clusters also tries) to its kubeconfig context, for the
// clusters that name one. It never returns nil.
func (c *Config) Contexts() map[string]string {
	out := map[string]string{}
	if c == nil {
		return out
	}
	for _, cl := range c.Clusters {
		if cl.Context != "" {
			out[cl.Name] = cl.Context
			out[strings.TrimSuffix(cl.Server, "/")] = cl.Context
		}
	}
	return out
}

// Cluster names a destination's cluster by both its name and its server
// where the configuration (or Argo CD's in-cluster convention) knows the
// other half; otherwise by the half given.
func (c *Config) Cluster(dest environment.Destination) project.Cluster {
	out := project.Cluster{Name: dest.Name, Server: dest.Server}
	server := strings.TrimSuffix(dest.Server, "/")
	if c != nil {
		for _, cl := range c.Clusters {
			if (dest.Name != "" && cl.Name == dest.Name) || (server != "" && strings.TrimSuffix(cl.Server, "/") == server) {
				return project.Cluster{Name: cl.Name, Server: cl.Server}
			}
		}
	}
	switch {
	case dest.Name == kube.InClusterName && dest.Server == "":
		out.Server = kube.InClusterServer
	case server == kube.InClusterServer && dest.Name == "":
		out.Name = kube.InClusterName
	}
	return out
}
