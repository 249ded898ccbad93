package cli

import (
	"github.com/spf13/pflag"

	"github.com/ferry-gitops/ferry/internal/appset"
	"github.com/ferry-gitops/ferry/internal/serverconfig"
)

// clustersFlag is --clusters FILE: the clusters an ApplicationSet's
// clusters generator selects from, as the server's configuration lists
// them.
type clustersFlag struct{ file string }

func (c *clustersFlag) add(f *pflag.FlagSet) {
	f.StringVar(&c.file, "clusters", "", "YAML file with a clusters: list (name, server, labels), as in the server configuration: what ApplicationSets' clusters generators select (FERRY_CLUSTERS; default: the --config file's clusters)")
}

// load reads the --clusters file; without one, the clusters of the
// --config file configFile, if any.
func (c *clustersFlag) load(configFile string) ([]appset.Cluster, error) {
	if c.file != "" {
		return serverconfig.LoadClusters(c.file)
	}
	if configFile == "" {
		return nil, nil
	}
	return serverconfig.LoadClusters(configFile)
}
