package serverconfig

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"strings"

	"github.com/ferry-gitops/ferry/internal/appset"
	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/strictyaml"
)

// AppsetClusters are the configured clusters as an ApplicationSet's
// clusters generator sees them: name, server and labels. Nil-safe.
func (c *Config) AppsetClusters() []appset.Cluster {
	if c == nil {
		return nil
	}
	return appsetClusters(c.Clusters)
}

func appsetClusters(in []Cluster) []appset.Cluster {
	var out []appset.Cluster
	for _, cl := range in {
		out = append(out, appset.Cluster{Name: cl.Name, Server: cl.Server, Labels: maps.Clone(cl.Labels)})
	}
	return out
}

// LoadClusters reads the clusters: list of a file laid out as the server's
// configuration (the server's own file will do; its other sections are
// read and checked too, then left out). Unlike the server, it needs no
// kubeconfig context per cluster: the CLI only lets ApplicationSets'
// clusters generators select them. Every error names the file, and the
// line where there is one.
func LoadClusters(path string) ([]appset.Cluster, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("clusters file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("clusters file %s: %w", path, err)
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("clusters file %s: larger than %d bytes", path, maxSize)
	}
	var raw file
	if err := strictyaml.Decode(data, path, &raw); err != nil {
		return nil, err
	}
	if err := validateClusters(path, raw.Clusters, false); err != nil {
		return nil, err
	}
	return appsetClusters(raw.Clusters), nil
}

// validateClusters checks the clusters: list of file name; needContext
// (the server) also wants a kubeconfig context for every cluster but
// ferry's own.
func validateClusters(name string, clusters []Cluster, needContext bool) error {
	names, servers := map[string]int{}, map[string]int{}
	for _, cl := range clusters {
		at := func(format string, args ...any) error {
			return &manifest.ParseError{File: name, Line: cl.Line, Err: fmt.Errorf("cluster %q: "+format, append([]any{cl.Name}, args...)...)}
		}
		server := strings.TrimSuffix(cl.Server, "/")
		u, err := url.Parse(cl.Server)
		switch {
		case cl.Name == "":
			return &manifest.ParseError{File: name, Line: cl.Line, Err: errors.New("a cluster needs a name")}
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			return at("server %q: want an https:// (or http://) URL", cl.Server)
		case names[cl.Name] != 0:
			return at("defined twice (first at line %d)", names[cl.Name])
		case servers[server] != 0:
			return at("server %s is also the server of the cluster at line %d", cl.Server, servers[server])
		case needContext && cl.Context == "" && cl.Name != kube.InClusterName && server != kube.InClusterServer:
			return at("needs a kubeconfig context to reach %s", cl.Server)
		}
		names[cl.Name], servers[server] = cl.Line, cl.Line
	}
	return nil
}
