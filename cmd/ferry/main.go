// Command ferry is the GitOps pull-request bot: a webhook server and a CLI
// that previews, per environment, what a change to a GitOps repository does.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ferry-gitops/ferry/internal/cli"
	"github.com/ferry-gitops/ferry/internal/sandbox"
)

func main() {
	// A render worker (ferry re-executed by its own render pool) serves
	// renders and exits here, before anything else starts.
	sandbox.RunIfWorker()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
