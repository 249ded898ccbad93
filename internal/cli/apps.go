package cli

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/serverconfig"
)

func newAppsCmd(s Streams, logger func() *slog.Logger) *cobra.Command {
	var repo, rev, format, repoURL, config string
	var limits renderLimits
	var clusters clustersFlag
	cmd := &cobra.Command{
		Use:   "apps",
		Short: "List the environments found in a repository",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd, "render-memory", "render-timeout", "render-workers", "config", "clusters"); err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			settings, err := loadSettings(config)
			if err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			found, err := discoverApps(cmd, repo, rev, repoURL, config, &limits, &clusters)
			if err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			log := logger()
			for _, sk := range found.Skipped {
				log.Debug("skipped file", "file", sk.File, "reason", sk.Reason)
			}
			switch format {
			case "json":
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Environments []environment.Environment `json:"environments"`
				}{found.Environments})
			case "text":
				return appsTable(s, found.Environments, settings)
			default:
				return &codedError{code: exitFailure, err: fmt.Errorf("unknown --format %q (want text or json)", format)}
			}
		},
	}
	cmd.Flags().StringVar(&repo, "repo", ".", "repository directory (a work tree or a bare repository)")
	cmd.Flags().StringVar(&rev, "rev", "", "git revision to read (default: the files on disk)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().StringVar(&repoURL, "repo-url", "", "the repository's URL; Applications pointing elsewhere are listed as external")
	cmd.Flags().StringVar(&config, "config", "", "server configuration file: a chart from a repository outside its repositories is marked (FERRY_CONFIG)")
	limits.addFlags(cmd.Flags())
	clusters.add(cmd.Flags())
	return cmd
}

// discoverApps lists a revision's environments, rendering app-of-apps
// parents in worker processes under the render limits.
func discoverApps(cmd *cobra.Command, repo, rev, repoURL, config string, limits *renderLimits, clusters *clustersFlag) (*environment.Discovery, error) {
	list, err := clusters.load(config)
	if err != nil {
		return nil, err
	}
	limits.config = config
	// Workers start only should a parent need rendering: most
	// repositories have none.
	renders, err := limits.pool(0)
	if err != nil {
		return nil, err
	}
	defer renders.Close()
	tree, err := openTree(cmd.Context(), repo, rev)
	if err != nil {
		return nil, err
	}
	defer tree.Close()
	return preview.Discover(cmd.Context(), tree, preview.DiscoverOptions{RepoURL: repoURL, Clusters: list, Renderer: renders})
}

// appsTable lists envs; with a --config file (settings not nil), a chart
// from a repository outside its repositories says so.
func appsTable(s Streams, envs []environment.Environment, settings *serverconfig.Config) error {
	tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tPATH\tCLUSTER\tNAMESPACE\tORIGIN")
	for _, e := range envs {
		typ := string(e.Type)
		if e.External {
			typ = "external"
		}
		cluster := e.Destination.Server
		if cluster == "" {
			cluster = e.Destination.Name
		}
		path := e.Path
		if e.Chart != nil {
			path = e.Chart.Name + "@" + dash(e.Chart.Version) + " from " + e.Chart.RepoURL
			if settings != nil {
				if _, err := settings.Repositories.Match(e.Chart.RepoURL); err != nil {
					path += " (not an allowed repository)"
				}
			}
		}
		if len(e.ExternalSources) > 0 { // multi-source: what is not rendered
			path += " (+ external: " + strings.Join(e.ExternalSources, ", ") + ")"
		}
		origin := string(e.Origin)
		if e.Parent != "" { // app-of-apps: rendered by its parent
			origin += " of " + e.Parent
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Name, typ, path, dash(cluster), dash(e.Destination.Namespace), origin)
	}
	return tw.Flush()
}

// loadSettings reads the --config file (nil without one).
func loadSettings(config string) (*serverconfig.Config, error) {
	if config == "" {
		return nil, nil
	}
	return serverconfig.Load(config)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
