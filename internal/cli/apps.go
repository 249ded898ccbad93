package cli

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/preview"
)

func newAppsCmd(s Streams, logger func() *slog.Logger) *cobra.Command {
	var repo, rev, format, repoURL string
	cmd := &cobra.Command{
		Use:   "apps",
		Short: "List the environments found in a repository",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tree, err := openTree(cmd.Context(), repo, rev)
			if err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			defer tree.Close()
			found, err := preview.Discover(tree, repoURL)
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
				tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tTYPE\tPATH\tCLUSTER\tNAMESPACE\tORIGIN")
				for _, e := range found.Environments {
					typ := string(e.Type)
					if e.External {
						typ = "external"
					}
					cluster := e.Destination.Server
					if cluster == "" {
						cluster = e.Destination.Name
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Name, typ, e.Path, dash(cluster), dash(e.Destination.Namespace), e.Origin)
				}
				return tw.Flush()
			default:
				return &codedError{code: exitFailure, err: fmt.Errorf("unknown --format %q (want text or json)", format)}
			}
		},
	}
	cmd.Flags().StringVar(&repo, "repo", ".", "repository directory (a work tree or a bare repository)")
	cmd.Flags().StringVar(&rev, "rev", "", "git revision to read (default: the files on disk)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().StringVar(&repoURL, "repo-url", "", "the repository's URL; Applications pointing elsewhere are listed as external")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
