// Command ferry is the GitOps pull-request bot: a webhook server and a CLI
// that previews, per environment, what a change to a GitOps repository does.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ferry-gitops/ferry/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
