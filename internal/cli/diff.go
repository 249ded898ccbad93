package cli

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ferry-gitops/ferry/internal/config"
	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/report"
	"github.com/ferry-gitops/ferry/internal/secrets"
)

// githubCommentLimit is the most characters GitHub accepts in a comment.
const githubCommentLimit = 65536

func newDiffCmd(s Streams, logger func() *slog.Logger) *cobra.Command {
	var (
		repo, base, head, format, repoURL string
		apps                              []string
		maxChars                          int
		color                             string
		limits                            renderLimits
		clusters                          clustersFlag
	)
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Show what a change does to each environment (exit 0: no change, 1: changes, 2: error)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := bindEnv(cmd, "render-memory", "render-timeout", "render-workers", "config", "clusters"); err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			list, err := clusters.load(limits.config)
			if err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			renders, err := limits.pool(2)
			if err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			defer renders.Close()
			baseTree, err := openTree(ctx, repo, base)
			if err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			defer baseTree.Close()
			headTree, err := openTree(ctx, repo, head)
			if err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			defer headTree.Close()

			masker := startMasker()
			// The base decides how to judge the change, as on the server.
			cfg, err := config.Load(baseTree)
			if err != nil {
				return &codedError{code: exitFailure, err: fmt.Errorf("base %s: %w", base, err)}
			}
			res, err := preview.Run(ctx, baseTree, headTree, preview.Options{
				RepoURL:  repoURL,
				Apps:     apps,
				Clusters: list,
				Renderer: renders,
				Diff:     diff.Options{Context: 3, IgnoreLabels: cfg.Diff.IgnoreLabels, IgnoreAnnotations: cfg.Diff.IgnoreAnnotations, Mask: masker},
			})
			if err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			log := logger()
			for _, sk := range res.Skipped {
				log.Debug("skipped file", "detail", sk)
			}
			if err := printDiff(s, res, format, maxChars, useColor(color, s)); err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			return &codedError{code: diffExitCode(res)}
		},
	}
	cmd.Flags().StringVar(&repo, "repo", ".", "repository directory")
	cmd.Flags().StringVar(&base, "base", "", "base git revision (required)")
	cmd.Flags().StringVar(&head, "head", "", "head git revision (default: the files on disk)")
	cmd.Flags().StringSliceVar(&apps, "app", nil, "limit to these environments (repeatable)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: markdown, text or json")
	cmd.Flags().StringVar(&repoURL, "repo-url", "", "the repository's URL; Applications pointing elsewhere are external")
	cmd.Flags().IntVar(&maxChars, "max-chars", githubCommentLimit, "markdown size budget (GitHub's comment limit by default; 0 = none)")
	cmd.Flags().StringVar(&color, "color", "auto", "colour text output: auto, always or never")
	limits.addFlags(cmd.Flags())
	limits.addConfigFlag(cmd.Flags())
	clusters.add(cmd.Flags())
	_ = cmd.MarkFlagRequired("base")
	return cmd
}

// printDiff writes a preview in one of ferry diff's formats.
func printDiff(s Streams, res *preview.Result, format string, maxChars int, color bool) error {
	switch format {
	case "markdown":
		_, err := fmt.Fprint(s.Out, report.Markdown(res, report.MarkdownOptions{
			Title:    "ferry diff",
			MaxChars: maxChars,
			Footer:   fmt.Sprintf("Rendered %s → %s in %s.", short(res.Base), short(res.Head), res.Duration.Round(time.Millisecond)),
		}))
		return err
	case "json":
		b, err := report.JSON(res)
		if err != nil {
			return err
		}
		_, err = s.Out.Write(append(b, '\n'))
		return err
	case "text":
		return report.Text(s.Out, res, color)
	}
	return fmt.Errorf("unknown --format %q (want markdown, text or json)", format)
}

func diffExitCode(res *preview.Result) int {
	code := exitOK
	for _, e := range res.Environments {
		switch e.Status {
		case preview.Error:
			return exitFailure
		case preview.Changed:
			code = exitChanges
		}
	}
	return code
}

func useColor(mode string, s Streams) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	f, ok := s.Out.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == ""
}

func short(rev string) string {
	if len(rev) == 40 {
		return rev[:12]
	}
	return rev
}

// backgroundMasker is a secrets.Masker compiled while the repository is
// read: compiling gitleaks' rules is a tenth of a second a command need not
// wait for until it has a diff to show.
type backgroundMasker struct {
	done   chan struct{}
	masker *secrets.Masker
	err    error
}

func startMasker() *backgroundMasker {
	m := &backgroundMasker{done: make(chan struct{})}
	go func() {
		defer close(m.done)
		m.masker, m.err = newMasker()
	}()
	return m
}

// MaskText masks text once the rules are compiled. Should they fail to
// compile, nothing is shown.
func (m *backgroundMasker) MaskText(text string) string {
	<-m.done
	if m.err != nil {
		return "(not shown: ferry's secret rules failed to load)\n"
	}
	return m.masker.MaskText(text)
}

// newMasker compiles the secret rules whose matches ferry never prints.
func newMasker() (*secrets.Masker, error) {
	rules, err := secrets.LoadRules()
	if err != nil {
		return nil, fmt.Errorf("secret rules: %w", err)
	}
	return rules.Masker()
}
