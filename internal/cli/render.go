package cli

import (
	"bytes"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/preview"
)

func newRenderCmd(s Streams, logger func() *slog.Logger) *cobra.Command {
	var repo, rev, app, repoURL string
	var limits renderLimits
	var clusters clustersFlag
	var showSecrets bool
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Render one environment's manifests as a YAML stream",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd, "render-memory", "render-timeout", "render-workers", "config", "clusters"); err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			list, err := clusters.load(limits.config)
			if err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			renders, err := limits.pool(1)
			if err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			defer renders.Close()
			tree, err := openTree(cmd.Context(), repo, rev)
			if err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			defer tree.Close()
			found, err := preview.Discover(cmd.Context(), tree, preview.DiscoverOptions{RepoURL: repoURL, Clusters: list, Renderer: renders})
			if err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			var env *environment.Environment
			var names []string
			for i := range found.Environments {
				names = append(names, found.Environments[i].Name)
				if found.Environments[i].Name == app {
					env = &found.Environments[i]
				}
			}
			if env == nil {
				return &codedError{code: exitFailure, err: fmt.Errorf("no environment %q (found: %v)", app, names)}
			}
			if env.External {
				return &codedError{code: exitFailure, err: fmt.Errorf("environment %q is sourced from another repository (%s)", app, env.RepoURL)}
			}
			res, err := renders.Render(cmd.Context(), tree, *env)
			if err != nil {
				return &codedError{code: exitFailure, err: fmt.Errorf("render %s: %w", app, err)}
			}
			logger().Debug("rendered", "environment", app, "objects", len(res.Objects), "files", res.Files)
			out, err := shownStream(res.Objects, showSecrets)
			if err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			_, err = s.Out.Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&repo, "repo", ".", "repository directory")
	cmd.Flags().StringVar(&rev, "rev", "", "git revision to read (default: the files on disk)")
	cmd.Flags().StringVar(&app, "app", "", "environment name (see `ferry apps`)")
	cmd.Flags().StringVar(&repoURL, "repo-url", "", "the repository's URL; Applications pointing elsewhere are external")
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "print Secret values and what secret rules match as rendered (hidden by default)")
	limits.addFlags(cmd.Flags())
	limits.addConfigFlag(cmd.Flags())
	clusters.add(cmd.Flags())
	_ = cmd.MarkFlagRequired("app")
	return cmd
}

// shownStream prints objects as YAML, with Secrets' values redacted and
// every value a secret rule matches masked (object by object), unless
// showSecrets.
func shownStream(objs []manifest.Object, showSecrets bool) ([]byte, error) {
	if showSecrets {
		return manifest.Stream(objs)
	}
	masker, err := newMasker()
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	for _, o := range objs {
		doc, err := manifest.Stream([]manifest.Object{diff.Shown(o)})
		if err != nil {
			return nil, err
		}
		out.WriteString(masker.MaskText(string(doc)))
	}
	return out.Bytes(), nil
}
