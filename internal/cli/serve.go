package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-gitops/ferry"
	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/server"
	"github.com/ferry-gitops/ferry/internal/serverconfig"
	"github.com/ferry-gitops/ferry/internal/store"
)

func newServeCmd(s Streams, _ func() *slog.Logger) *cobra.Command {
	var (
		listen, apiURL, keyFile, secret, secretFile, dataDir, logFormat string
		appID                                                           int64
		workers                                                         int
		kubeconfig, configFile, namespace, databaseURL                  string
		clusters                                                        map[string]string
		limits                                                          renderLimits
		healthTimeout, degradationWindow, shutdownGrace, jobLease       time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the GitHub App webhook server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd, "listen", "github-api-url", "app-id", "private-key-file", "webhook-secret", "webhook-secret-file", "data-dir", "workers", "kubeconfig", "render-memory", "render-timeout", "render-workers", "health-timeout", "degradation-window", "shutdown-grace", "config", "namespace", "database-url", "job-lease"); err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			if databaseURL != "" && !store.IsPostgresURL(databaseURL) {
				return &codedError{code: exitFailure, err: errors.New("--database-url: want a postgres:// or postgresql:// URL (leave it empty for SQLite in --data-dir)")}
			}
			cfg := server.Config{Listen: listen, GitHubAPIURL: apiURL, AppID: appID, DataDir: dataDir, DatabaseURL: databaseURL, Workers: workers, WebhookSecret: []byte(secret),
				Kubeconfig: kubeconfig, ClusterContexts: clusters, HealthTimeout: healthTimeout, DegradationWindow: degradationWindow,
				ShutdownGrace: shutdownGrace, JobLease: jobLease}
			var err error
			if cfg.Render, err = limits.options(); err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			if err := settings(&cfg, configFile, namespace); err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			if err := readKeys(&cfg, secretFile, keyFile); err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			// An App registered by `ferry setup` is used when no flags name one.
			if err := useStoredApp(&cfg); err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			if err := cfg.Validate(); err != nil {
				return &codedError{code: exitFailure, err: fmt.Errorf("%w; to register a new App run `ferry setup`", err)}
			}
			var handler slog.Handler = slog.NewTextHandler(s.Err, nil)
			if logFormat == "json" {
				handler = slog.NewJSONHandler(s.Err, nil)
			}
			log := slog.New(handler)
			srv, err := server.New(cmd.Context(), cfg, log)
			if err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			if err := srv.Run(cmd.Context(), nil); err != nil {
				return &codedError{code: exitFailure, err: err}
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
	f.StringVar(&databaseURL, "database-url", "", "a PostgreSQL database shared by replicas, postgres://USER:PASSWORD@HOST/DB; empty: SQLite in --data-dir (FERRY_DATABASE_URL)")
	f.IntVar(&workers, "workers", 4, "concurrent jobs (FERRY_WORKERS)")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig whose contexts are the destination clusters (FERRY_KUBECONFIG)")
	limits.addFlags(f)
	f.DurationVar(&healthTimeout, "health-timeout", 5*time.Minute, "how long a synced rollout may take to become healthy; .ferry.yaml sync.healthTimeout overrides it (FERRY_HEALTH_TIMEOUT)")
	f.DurationVar(&degradationWindow, "degradation-window", 10*time.Minute, "how long after a successful sync a rollout turning Degraded still opens a revert pull request; negative: never; .ferry.yaml sync.degradationWindow overrides it (FERRY_DEGRADATION_WINDOW)")
	f.DurationVar(&shutdownGrace, "shutdown-grace", server.DefaultShutdownGrace, "on SIGTERM, how long running jobs may go on before they are interrupted and queued again for another replica (FERRY_SHUTDOWN_GRACE)")
	f.DurationVar(&jobLease, "job-lease", queue.DefaultLease, "how long a claimed job stays reserved without its replica's heartbeat: a killed replica's jobs go to another after this (FERRY_JOB_LEASE)")
	f.StringToStringVar(&clusters, "cluster", nil, "map a destination name or server URL to a kubeconfig context: --cluster prod-eu=eu-context (repeatable)")
	f.StringVar(&configFile, "config", "", "YAML file of clusters, projects (what each repository may deploy where) and repositories (where renders may fetch charts and bases from); see the README (FERRY_CONFIG)")
	f.StringVar(&namespace, "namespace", "", "ferry's own namespace, which the default project keeps out of reach; default: the pod's (FERRY_NAMESPACE)")
	return cmd
}

// readKeys reads the webhook secret and the App's key from the files the
// flags name.
func readKeys(cfg *server.Config, secretFile, keyFile string) error {
	if secretFile != "" {
		b, err := os.ReadFile(secretFile)
		if err != nil {
			return fmt.Errorf("--webhook-secret-file: %w", err)
		}
		cfg.WebhookSecret = []byte(strings.TrimSpace(string(b)))
	}
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return fmt.Errorf("--private-key-file: %w", err)
		}
		cfg.PrivateKey = b
	}
	return nil
}

// serviceAccountNamespace is where Kubernetes tells a pod its namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// settings loads the --config file, and ferry's namespace: the flag's, else
// the pod's when ferry runs in a cluster.
func settings(cfg *server.Config, configFile, namespace string) error {
	if configFile != "" {
		c, err := serverconfig.Load(configFile)
		if err != nil {
			return fmt.Errorf("--config: %w", err)
		}
		cfg.Settings = c
	}
	cfg.Namespace = namespace
	if namespace == "" {
		cfg.Namespace = podNamespace(serviceAccountNamespace)
	}
	return nil
}

// podNamespace reads the namespace Kubernetes mounts into a pod at file;
// "" when there is none (ferry runs outside a cluster).
func podNamespace(file string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// useStoredApp fills what the flags left empty from the App `ferry setup`
// stored in the data directory, if any.
func useStoredApp(cfg *server.Config) error {
	creds, err := server.LoadCredentials(cfg.DataDir)
	if err != nil || creds == nil {
		return err
	}
	if cfg.AppID == 0 {
		cfg.AppID = creds.AppID
	}
	if len(cfg.PrivateKey) == 0 {
		cfg.PrivateKey = []byte(creds.PEM)
	}
	if len(cfg.WebhookSecret) == 0 {
		cfg.WebhookSecret = []byte(creds.WebhookSecret)
	}
	return nil
}

func newSetupCmd(s Streams, _ func() *slog.Logger) *cobra.Command {
	var listen, apiURL, dataDir string
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Register ferry as a GitHub App through GitHub's manifest flow (serves /setup)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd, "listen", "github-api-url", "data-dir"); err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			state, err := server.NewState()
			if err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			setup := &server.Setup{Manifest: ferry.AppManifest, WebURL: webURL(apiURL), APIURL: apiURL, DataDir: dataDir, State: state}
			if err := server.RunSetup(cmd.Context(), listen, setup, slog.New(slog.NewTextHandler(s.Err, nil))); err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", ":8080", "address to listen on (FERRY_LISTEN)")
	cmd.Flags().StringVar(&apiURL, "github-api-url", github.DefaultAPIURL, "GitHub REST base URL (FERRY_GITHUB_API_URL)")
	cmd.Flags().StringVar(&dataDir, "data-dir", "./.ferry-data", "where the new App's credentials are stored (FERRY_DATA_DIR)")
	return cmd
}

// webURL derives the web host from the REST root: api.github.com → github.com,
// https://HOST/api/v3/ → https://HOST.
func webURL(apiURL string) string {
	if strings.Contains(apiURL, "://api.github.com") {
		return "https://github.com"
	}
	return strings.TrimSuffix(strings.TrimSuffix(apiURL, "/"), "/api/v3")
}
