// Package server wires ferry's webhook server: the HTTP routes (echo), the
// durable store, the worker pool and the job handlers. It owns lifecycles,
// not logic: each piece it starts lives in its own package.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/gitmirror"
	"github.com/ferry-gitops/ferry/internal/job"
	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/sandbox"
	"github.com/ferry-gitops/ferry/internal/secrets"
	"github.com/ferry-gitops/ferry/internal/store"
	"github.com/ferry-gitops/ferry/internal/webhook"
)

// Config is everything `ferry serve` is told.
type Config struct {
	Listen        string
	GitHubAPIURL  string
	AppID         int64
	PrivateKey    []byte
	WebhookSecret []byte
	DataDir       string
	Workers       int
	// HTTPTransport reaches GitHub; nil means http.DefaultTransport.
	HTTPTransport http.RoundTripper
	// HTTP bounds what peers can make the HTTP server hold (zero fields
	// take DefaultHTTPLimits).
	HTTP HTTPLimits
	// Kubeconfig and ClusterContexts say where destinations are (see
	// kube.Clusters); ferry's own cluster needs neither.
	Kubeconfig      string
	ClusterContexts map[string]string
	// HealthTimeout bounds the wait for a healthy rollout (default 5 min).
	HealthTimeout time.Duration
	// ClusterFor overrides destination resolution (tests).
	ClusterFor func(environment.Destination) (*kube.Cluster, error)
	// HealQuiet is how long a drifted object must stay put before its
	// self-heal backoff starts again from 2 s (default 10 min).
	HealQuiet time.Duration
	// Sleep overrides the wait between sync retries (tests use a fake clock).
	Sleep func(ctx context.Context, d time.Duration) error
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
	cfg     Config
	log     *slog.Logger
	db      *store.DB
	pool    *queue.Pool
	echo    *echo.Echo
	ready   bool
	readyM  sync.Mutex
	drift   *job.Drift
	syncs   *job.Syncer
	renders *sandbox.Pool
}

// New opens the store and builds the server; Run starts it.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	app, err := github.NewApp(cfg.AppID, cfg.PrivateKey, cfg.GitHubAPIURL, cfg.HTTPTransport)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, filepath.Join(cfg.DataDir, "ferry.db"))
	if err != nil {
		return nil, err
	}
	mirrors, err := gitmirror.New(filepath.Join(cfg.DataDir, "git"))
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, db: db}
	router, wakers, err := s.handlers(app, mirrors)
	if err != nil {
		db.Close()
		return nil, err
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = 4
	}
	s.pool = &queue.Pool{Store: db, Handler: router, Workers: workers, Logger: log}
	for _, w := range wakers {
		*w = s.pool.Wake
	}
	hook := &webhook.Handler{Secret: cfg.WebhookSecret, Intake: db, Wake: s.pool.Wake, Logger: log, Now: time.Now, Limits: cfg.HTTP.Webhook}
	s.echo = newEcho(s, hook)
	return s, nil
}

// handlers builds the job handlers, one per kind of work, and returns the
// Wake hooks to point at the pool once it exists (handlers that queue
// follow-up work wake idle workers).
func (s *Server) handlers(app *github.App, mirrors *gitmirror.Mirrors) (job.Router, []*func(), error) {
	cfg, db, log := s.cfg, s.db, s.log
	rules, err := secrets.LoadRules()
	if err != nil {
		return nil, nil, fmt.Errorf("secret scanning rules: %w", err)
	}
	clusterFor, err := cfg.clusters()
	if err != nil {
		return nil, nil, err
	}
	sleep := cfg.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	masker, err := rules.Masker()
	if err != nil {
		return nil, nil, fmt.Errorf("secret masking: %w", err)
	}
	renders, err := sandbox.New(cfg.Render)
	if err != nil {
		return nil, nil, err
	}
	s.renders = renders
	previewer := &job.Previewer{
		Client:      func(id int64) (job.GitHub, error) { return app.Client(id) },
		Token:       app.Token,
		Mirrors:     mirrors,
		State:       db,
		Renderer:    renders,
		Mask:        masker,
		SecretRules: rules,
		Clusters:    clusterFor,
		Logger:      log,
	}
	drifts := job.NewDrift()
	drifts.Client = func(id int64) (job.DriftGitHub, error) { return app.Client(id) }
	drifts.State, drifts.Queue, drifts.Audit, drifts.Logger = db, db, db, log
	drifts.HealQuiet, drifts.Mask = cfg.HealQuiet, masker
	s.drift = drifts
	syncs := &job.Syncer{
		Client:        func(id int64) (job.SyncGitHub, error) { return app.Client(id) },
		Token:         app.Token,
		Mirrors:       mirrors,
		State:         db,
		Queue:         db,
		Clusters:      clusterFor,
		History:       db,
		Drift:         drifts,
		Renderer:      renders,
		Mask:          masker,
		HealthTimeout: cfg.HealthTimeout,
		Sleep:         sleep,
		Logger:        log,
	}
	s.syncs = syncs
	commander := &job.Commander{
		Client:  func(id int64) (job.CommandGitHub, error) { return app.Client(id) },
		Token:   app.Token,
		Mirrors: mirrors,
		State:   db,
		Queue:   db,
		History: db,
		Logger:  log,
	}
	refresher := &job.Refresher{
		Client: func(id int64) (job.OpenPullRequests, error) { return app.Client(id) },
		Queue:  db,
		Logger: log,
	}
	router := job.Router{
		job.KindPreview: previewer,
		job.KindRefresh: refresher,
		job.KindPush:    syncs.Planner(),
		job.KindSync:    syncs,
		job.KindRevert:  syncs.Reverter(),
		job.KindCommand: commander,
		job.KindRelease: queue.HandlerFunc(commander.Release),
	}
	return router, []*func(){&refresher.Wake, &syncs.Wake, &drifts.Wake, &commander.Wake}, nil
}

// newEcho routes `ferry serve`. The App manifest flow is not among them:
// only `ferry setup` (RunSetup) serves it.
// clusters resolves destinations from the kubeconfig, unless a test set
// ClusterFor.
func (c Config) clusters() (func(environment.Destination) (*kube.Cluster, error), error) {
	if c.ClusterFor != nil {
		return c.ClusterFor, nil
	}
	kopts := kube.DefaultClustersOptions()
	kopts.Kubeconfig, kopts.Contexts = c.Kubeconfig, c.ClusterContexts
	clusters, err := kube.NewClusters(kopts)
	if err != nil {
		return nil, err
	}
	return clusters.Cluster, nil
}

func newEcho(s *Server, hook *webhook.Handler) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.POST("/webhook", hook.Serve)
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", s.readyz)
	return e
}

func (s *Server) readyz(c echo.Context) error {
	s.readyM.Lock()
	ready := s.ready
	s.readyM.Unlock()
	if !ready {
		return c.String(http.StatusServiceUnavailable, "starting\n")
	}
	if _, _, err := s.db.Get(c.Request().Context(), "health", "ping"); err != nil {
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
	s.syncs.Lifetime = poolCtx
	poolDone := make(chan error, 1)
	go func() { poolDone <- s.pool.Run(poolCtx) }()
	go s.pruneLoop(poolCtx)
	go s.drift.Run(poolCtx)
	s.renders.Warm(2)
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()
	s.readyM.Lock()
	s.ready = true
	s.readyM.Unlock()
	s.log.Info("ferry serving", "addr", ln.Addr().String())

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveDone:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	stopPool()
	<-poolDone
	_ = s.renders.Close()
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
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

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
