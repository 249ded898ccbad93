// Package cli is ferry's command line: cobra commands that parse flags and
// call the engine packages. It holds no logic of its own beyond wiring.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X .../cli.Version=...".
var Version = "dev"

// codedError carries a specific exit code through cobra.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// Exit codes shared by the commands, as diff(1) and `argocd app diff` use them.
const (
	exitOK      = 0
	exitChanges = 1
	exitFailure = 2
)

// Streams are the command's standard streams, passed explicitly so tests can
// run commands in-process.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Run executes ferry with args and returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := Streams{In: stdin, Out: stdout, Err: stderr}
	root := newRoot(s)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *codedError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "ferry:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "ferry:", err)
	return exitFailure
}

func newRoot(s Streams) *cobra.Command {
	var verbose bool
	root := &cobra.Command{
		Use:           "ferry",
		Short:         "GitOps for pull requests: per-environment diffs, policies, sync and drift",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "log what ferry skips and why")
	root.PersistentPreRun = func(cmd *cobra.Command, _ []string) {
		// One-shot commands render, print and exit: most of what the
		// collector would do is wasted on a heap that is about to go away
		// (a fifth of `ferry diff`'s time). The server keeps Go's default.
		if cmd.Name() != "serve" && os.Getenv("GOGC") == "" {
			debug.SetGCPercent(400)
		}
	}
	logger := func() *slog.Logger {
		level := slog.LevelWarn
		if verbose {
			level = slog.LevelDebug
		}
		return slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: level}))
	}
	root.AddCommand(
		newAppsCmd(s, logger),
		newRenderCmd(s, logger),
		newDiffCmd(s, logger),
		newServeCmd(s, logger),
		newSetupCmd(s, logger),
		newHistoryCmd(s, logger),
	)
	return root
}

// bindEnv gives every flag listed an environment-variable twin: FERRY_<FLAG>,
// read when the flag was not set on the command line.
func bindEnv(cmd *cobra.Command, names ...string) error {
	for _, name := range names {
		f := cmd.Flags().Lookup(name)
		if f == nil || f.Changed {
			continue
		}
		key := "FERRY_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if v, ok := os.LookupEnv(key); ok {
			if err := cmd.Flags().Set(name, v); err != nil {
				return fmt.Errorf("%s=%q: %w", key, v, err)
			}
		}
	}
	return nil
}
