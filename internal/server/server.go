// Package server wires ferry's webhook server: the HTTP routes (echo), the
// durable store, the worker pool and the job handlers. It owns lifecycles,
// not logic: each piece it starts lives in its own package.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ferry-gitops/ferry/internal/deploy"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/gitmirror"
	"github.com/ferry-gitops/ferry/internal/job"
	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/metrics"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/project"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/sandbox"
	"github.com/ferry-gitops/ferry/internal/secrets"
	"github.com/ferry-gitops/ferry/internal/serverconfig"
	"github.com/ferry-gitops/ferry/internal/store"
	"github.com/ferry-gitops/ferry/internal/syncer"
	"github.com/ferry-gitops/ferry/internal/webhook"
	"github.com/ferry-gitops/ferry/internal/work"
)

// Config is everything `ferry serve` is told.
type Config struct {
	Listen        string
	GitHubAPIURL  string
	AppID         int64
	PrivateKey    []byte
	WebhookSecret []byte
	DataDir       string
	// DatabaseURL selects a PostgreSQL database (postgres://...) shared by
	// replicas; empty means SQLite in DataDir.
	DatabaseURL string
	Workers     int
	// HTTPTransport reaches GitHub; nil means http.DefaultTransport.
	HTTPTransport http.RoundTripper
	// HTTP bounds what peers can make the HTTP server hold (zero fields
	// take DefaultHTTPLimits).
	HTTP HTTPLimits
	// Kubeconfig and ClusterContexts say where destinations are (see
	// kube.Clusters); ferry's own cluster needs neither.
	Kubeconfig      string
	ClusterContexts map[string]string
	// Settings is the --config file: clusters and projects (nil: none, so
	// the built-in default project alone).
	Settings *serverconfig.Config
	// Namespace is ferry's own namespace, which the built-in default
	// project keeps out of reach.
	Namespace string
	// ShutdownGrace is how long running jobs may go on once Run's context
	// ends, before they are interrupted and queued again (default
	// DefaultShutdownGrace).
	ShutdownGrace time.Duration
	// JobLease is how long a claimed job stays reserved without a
	// heartbeat (default queue.DefaultLease): a killed replica's jobs are
	// claimed by another once it lapses.
	JobLease time.Duration
	// HealthTimeout bounds the wait for a healthy rollout (default 5 min).
	HealthTimeout time.Duration
	// ClusterFor overrides destination resolution (tests).
	ClusterFor func(environment.Destination) (*kube.Cluster, error)
	// HealQuiet is how long a drifted object must stay put before its
	// self-heal backoff starts again from 2 s (default 10 min).
	HealQuiet time.Duration
	// DegradationWindow is how long after a successful sync a rollout
	// turning Degraded still reverts its commit (job's default when zero;
	// negative: not watched). .ferry.yaml's sync.degradationWindow wins.
	DegradationWindow time.Duration
	// RetryDelay, when set, maps each retry delay the queue schedules
	// (tests record the sync backoff and don't wait it out).
	RetryDelay func(time.Duration) time.Duration
	// Render bounds each environment's render, which runs in a worker
	// process (see sandbox.Options; zero fields take the defaults).
	Render sandbox.Options
}

// Validate reports the first missing or bad setting in one clear line.
func (c Config) Validate() error {
	switch {
	case len(c.WebhookSecret) == 0:
		return errors.New("a webhook secret is required (--webhook-secret, --webhook-secret-file or FERRY_WEBHOOK_SECRET)")
	case c.AppID <= 0:
		return errors.New("the GitHub App id is required (--app-id or FERRY_APP_ID)")
	case len(c.PrivateKey) == 0:
		return errors.New("the GitHub App private key is required (--private-key-file or FERRY_PRIVATE_KEY_FILE)")
	case c.DataDir == "":
		return errors.New("a data directory is required (--data-dir)")
	}
	return nil
}

// Server is a running ferry.
type Server struct {
	cfg      Config
	log      *slog.Logger
	db       *store.DB
	pool     *queue.Pool
	echo     *echo.Echo
	ready    atomic.Bool
	draining atomic.Bool
	drift    *job.Drift
	rollouts *job.Rollouts
	renders  *sandbox.Pool
	metrics  *metrics.Metrics
}

// DefaultShutdownGrace is how long running jobs may finish after SIGTERM.
const DefaultShutdownGrace = 30 * time.Second

// New opens the store and builds the server; Run starts it.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	m := metrics.New()
	app, err := github.NewApp(cfg.AppID, cfg.PrivateKey, cfg.GitHubAPIURL, m.Transport(cfg.HTTPTransport))
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, cmp.Or(cfg.DatabaseURL, filepath.Join(cfg.DataDir, "ferry.db")))
	if err != nil {
		return nil, err
	}
	app.Pauses, app.WriteLocks = db, db // rate-limit pauses and writes, shared by every worker and replica
	mirrors, err := gitmirror.New(filepath.Join(cfg.DataDir, "git"))
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, db: db, metrics: m}
	s.pool = &queue.Pool{Store: db, Workers: cmp.Or(cfg.Workers, queue.DefaultWorkers), Logger: log, Delay: cfg.RetryDelay, Observe: m.Job, Lease: cfg.JobLease,
		ShutdownGrace: cmp.Or(cfg.ShutdownGrace, DefaultShutdownGrace)}
	if s.pool.Handler, err = s.handlers(job.Repos{App: app, Mirrors: mirrors}); err != nil {
		db.Close()
		return nil, err
	}
	hook := &webhook.Handler{Secret: cfg.WebhookSecret, Intake: db, Wake: s.pool.Wake, Logger: log, Now: time.Now, Limits: cfg.HTTP.Webhook, Observe: m.Webhook}
	s.echo = newEcho(s, hook)
	return s, nil
}

// handlers builds the job handlers, one per kind of work. Follow-up work
// goes through the pool, which wakes its workers.
func (s *Server) handlers(repos job.Repos) (job.Router, error) {
	cfg, db, log, pool := s.cfg, s.db, s.log, s.pool
	rules, err := secrets.LoadRules()
	if err != nil {
		return nil, fmt.Errorf("secret scanning rules: %w", err)
	}
	clusterFor, err := cfg.clusters()
	if err != nil {
		return nil, err
	}
	projects, err := cfg.projects()
	if err != nil {
		return nil, err
	}
	masker, err := rules.Masker()
	if err != nil {
		return nil, fmt.Errorf("secret masking: %w", err)
	}
	if cfg.Render.Fetch == nil {
		cfg.Render.Fetch = cfg.Settings.Fetch(filepath.Join(cfg.DataDir, "fetch"))
	}
	if s.renders, err = sandbox.New(cfg.Render); err != nil {
		return nil, err
	}
	s.drift = &job.Drift{Repos: repos, DB: db, Queue: pool, Clusters: clusterFor, Logger: log, HealQuiet: cfg.HealQuiet, Mask: masker, Metrics: s.metrics}
	s.rollouts = job.NewRollouts(db, pool, func(d environment.Destination) (deploy.Cluster, error) {
		kc, err := clusterFor(d)
		if err != nil {
			return nil, err
		}
		return syncer.New(kc), nil
	}, log)
	// Helm renders see their destination cluster's version and APIs.
	withCaps := &job.Capabilities{Renderer: s.renders, Clusters: clusterFor}
	// App-of-apps parents are rendered in the sandbox too, as previews
	// render them: any branch's content is the repository's, not the
	// operator's.
	repos.Discovery = preview.DiscoverOptions{Renderer: withCaps, Clusters: cfg.Settings.AppsetClusters()}
	previews := &job.Previews{Repos: repos, DB: db, Renderer: withCaps, SecretRules: rules, Clusters: clusterFor, Mask: masker, Projects: projects, Metrics: s.metrics, Logger: log}
	return job.Router{
		work.KindPreview:    previews,
		work.KindMergeGroup: &job.MergeGroups{Previews: previews},
		work.KindRefresh:    &job.Refreshes{Repos: repos, Queue: pool, Logger: log},
		work.KindPush:       &job.Plans{Repos: repos, DB: db, Queue: pool, Logger: log},
		work.KindSync: &job.Syncs{Repos: repos, DB: db, Clusters: clusterFor, Renderer: withCaps, Mask: masker, Projects: projects, Queue: pool,
			HealthTimeout: cfg.HealthTimeout, DegradationWindow: cfg.DegradationWindow, Drift: s.drift, Rollouts: s.rollouts, Metrics: s.metrics, Logger: log},
		work.KindRevert:  &job.Reverts{Repos: repos, DB: db, Logger: log},
		work.KindCommand: &job.Commands{Repos: repos, DB: db, Queue: pool, Logger: log},
		work.KindRelease: &job.Releases{DB: db, Logger: log},
	}, nil
}

// clusters resolves destinations from the kubeconfig, unless a test set
// ClusterFor.
func (c Config) clusters() (func(environment.Destination) (*kube.Cluster, error), error) {
	if c.ClusterFor != nil {
		return c.ClusterFor, nil
	}
	kopts := kube.DefaultClustersOptions()
	kopts.Kubeconfig, kopts.Contexts = c.Kubeconfig, c.Settings.Contexts()
	for dest, ctx := range c.ClusterContexts {
		if prev, ok := kopts.Contexts[dest]; ok && prev != ctx {
			return nil, fmt.Errorf("cluster %s: --cluster maps it to context %q, the --config file to %q", dest, ctx, prev)
		}
		kopts.Contexts[dest] = ctx
	}
	clusters, err := kube.NewClusters(kopts)
	if err != nil {
		return nil, err
	}
	return clusters.Cluster, nil
}

// projects are the server's projects (the --config file's, plus the
// built-in default unless it defines one) and how its clusters are named.
func (c Config) projects() (job.Projects, error) {
	var list []project.Project
	if c.Settings != nil {
		list = c.Settings.Projects
	}
	catalog, err := project.NewCatalog(list, c.Namespace)
	if err != nil {
		return job.Projects{}, fmt.Errorf("--config: %w", err)
	}
	return job.Projects{Catalog: catalog, Cluster: c.Settings.Cluster}, nil
}

// newEcho routes `ferry serve`. The App manifest flow is not among them:
// only `ferry setup` (RunSetup) serves it.
func newEcho(s *Server, hook *webhook.Handler) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.POST("/webhook", hook.Serve)
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(s.metrics.Handler(s.db.QueueDepth)))
	return e
}

func (s *Server) readyz(c echo.Context) error {
	if s.draining.Load() {
		return c.String(http.StatusServiceUnavailable, "draining\n")
	}
	if !s.ready.Load() {
		return c.String(http.StatusServiceUnavailable, "starting\n")
	}
	if err := s.db.Ping(c.Request().Context()); err != nil {
		return c.String(http.StatusServiceUnavailable, "store unavailable\n")
	}
	return c.String(http.StatusOK, "ready\n")
}

// Run serves until ctx ends, then drains: it stops taking webhooks, lets
// running jobs finish, and closes the store. Queued jobs stay queued.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.Listen); err != nil {
			return fmt.Errorf("listen %s: %w", s.cfg.Listen, err)
		}
	}
	srv := s.cfg.HTTP.httpServer(s.echo)
	poolCtx, stopPool := context.WithCancel(context.WithoutCancel(ctx))
	poolDone := make(chan error, 1)
	go func() { poolDone <- s.pool.Run(poolCtx) }()
	leading := make(chan struct{})
	go func() { defer close(leading); s.lead(poolCtx) }()
	s.renders.Warm(2)
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()
	s.ready.Store(true)
	s.log.Info("ferry serving", "addr", ln.Addr().String())

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveDone:
	}
	// Draining: /readyz fails so the load balancer stops sending
	// webhooks; running jobs get ShutdownGrace, the rest stay queued.
	s.draining.Store(true)
	s.log.Info("ferry draining", "grace", s.pool.ShutdownGrace.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	stopPool()
	<-poolDone
	<-leading
	_ = s.renders.Close()
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// leaderPoll is how often a replica that does not lead tries to, and how
// often the leader checks it still does: a dead leader is replaced within
// about this long.
const leaderPoll = 5 * time.Second

// lead runs the singletons (drift watching and self-heal, degradation
// watches, the daily prune) for as long as this replica leads, taking
// the lead again whenever it can, until ctx ends.
func (s *Server) lead(ctx context.Context) {
	for {
		lctx, stepDown, err := s.db.Lead(ctx, leaderPoll)
		if err != nil {
			return // ctx ended
		}
		s.log.Info("leading: watching drift and rollouts")
		s.metrics.Leader(true)
		done := make(chan struct{}, 3)
		for _, run := range []func(context.Context){s.pruneLoop, s.drift.Run, s.rollouts.Run} {
			go func() { run(lctx); done <- struct{}{} }()
		}
		<-lctx.Done()
		for range 3 {
			<-done
		}
		stepDown()
		s.metrics.Leader(false)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("no longer leading: the database connection holding the lead failed")
	}
}

// pruneLoop drops finished jobs and old deliveries once a day so the
// database does not grow without bound.
func (s *Server) pruneLoop(ctx context.Context) {
	ticker := time.NewTicker(24 * time.Hour)
	defer ticker.Stop()
	for {
		if n, err := s.db.Prune(ctx, time.Now().Add(-store.DefaultRetention)); err != nil {
			s.log.Warn("prune store", "err", err)
		} else if n > 0 {
			s.log.Info("pruned store", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
