package cli

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/server"
)

func newServeCmd(s Streams, _ func() *slog.Logger) *cobra.Command {
	var (
		listen, apiURL, keyFile, secret, secretFile, dataDir, logFormat string
		appID                                                           int64
		workers                                                         int
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the GitHub App webhook server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd, "listen", "github-api-url", "app-id", "private-key-file", "webhook-secret", "webhook-secret-file", "data-dir", "workers"); err != nil {
				return &exitError{code: exitError, err: err}
			}
			cfg := server.Config{Listen: listen, GitHubAPIURL: apiURL, AppID: appID, DataDir: dataDir, Workers: workers, WebhookSecret: []byte(secret)}
			if secretFile != "" {
				b, err := os.ReadFile(secretFile)
				if err != nil {
					return &exitError{code: exitError, err: fmt.Errorf("--webhook-secret-file: %w", err)}
				}
				cfg.WebhookSecret = []byte(strings.TrimSpace(string(b)))
			}
			if keyFile != "" {
				b, err := os.ReadFile(keyFile)
				if err != nil {
					return &exitError{code: exitError, err: fmt.Errorf("--private-key-file: %w", err)}
				}
				cfg.PrivateKey = b
			}
			if err := cfg.Validate(); err != nil {
				return &exitError{code: exitError, err: err}
			}
			var handler slog.Handler = slog.NewTextHandler(s.Err, nil)
			if logFormat == "json" {
				handler = slog.NewJSONHandler(s.Err, nil)
			}
			log := slog.New(handler)
			srv, err := server.New(cmd.Context(), cfg, log)
			if err != nil {
				return &exitError{code: exitError, err: err}
			}
			if err := srv.Run(cmd.Context(), nil); err != nil {
				return &exitError{code: exitError, err: err}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", ":8080", "address to listen on (FERRY_LISTEN)")
	f.StringVar(&apiURL, "github-api-url", github.DefaultAPIURL, "GitHub REST base URL; GitHub Enterprise Server: https://HOST/api/v3/ (FERRY_GITHUB_API_URL)")
	f.Int64Var(&appID, "app-id", 0, "the GitHub App's id (FERRY_APP_ID)")
	f.StringVar(&keyFile, "private-key-file", "", "the GitHub App's PEM private key (FERRY_PRIVATE_KEY_FILE)")
	f.StringVar(&secret, "webhook-secret", "", "the webhook secret (FERRY_WEBHOOK_SECRET); required")
	f.StringVar(&secretFile, "webhook-secret-file", "", "read the webhook secret from a file (FERRY_WEBHOOK_SECRET_FILE)")
	f.StringVar(&dataDir, "data-dir", "./.ferry-data", "the embedded database and git mirrors (FERRY_DATA_DIR)")
	f.IntVar(&workers, "workers", 4, "concurrent jobs (FERRY_WORKERS)")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return cmd
}
