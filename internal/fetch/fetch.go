package fetch

import (
	"fmt"
	"net/http"
	"time"
)

// Defaults for Config fields left zero.
const (
	DefaultCacheBytes = 2 << 30
	DefaultMaxBytes   = 64 << 20
	DefaultTimeout    = 60 * time.Second
)

// Config is what a render worker needs to fetch: it travels from the server
// to each worker, so it holds no secrets (credentials are read where they
// are used, from the files or variables the entries name).
type Config struct {
	Repositories Allowlist `json:"repositories,omitempty"`
	// CacheDir holds fetched charts and Git objects; "" keeps nothing
	// between renders.
	CacheDir string `json:"cacheDir,omitempty"`
	// CacheBytes bounds CacheDir; the least recently used entries go first.
	CacheBytes int64 `json:"cacheBytes,omitempty"`
	// MaxBytes bounds one download (an index, a chart, a Git fetch).
	MaxBytes int64 `json:"maxBytes,omitempty"`
	// Timeout bounds one fetch.
	Timeout time.Duration `json:"timeout,omitempty"`
}

func (c Config) withDefaults() Config {
	if c.CacheBytes <= 0 {
		c.CacheBytes = DefaultCacheBytes
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// ChartRef names a chart as an Argo CD Application does: the repository
// (https://…, oci://… or a registry host/path without a scheme), the chart
// and targetRevision, an exact version or a semver range ("" and "*" are
// the newest).
type ChartRef struct {
	RepoURL string `json:"repoURL"`
	Chart   string `json:"chart"`
	Version string `json:"version"`
}

// Chart is a fetched, verified chart archive.
type Chart struct {
	Ref ChartRef
	// Version is the version the ref resolved to.
	Version string
	// Digest is the archive's "sha256:…" digest.
	Digest  string
	Archive []byte
}

// GitTree is a commit of an allowed Git repository, fetched into a local
// bare repository ferry opens read-only.
type GitTree struct {
	URL    string
	Commit string
	// Dir is the local bare repository holding Commit.
	Dir string
}

// Fetcher fetches from the allowed repositories. It is safe for concurrent
// use; several worker processes may share one CacheDir.
type Fetcher struct {
	cfg Config
	// cache is the content cache under CacheDir (cache.go); it keeps
	// nothing when CacheDir is "".
	cache *cache
	// transport carries every HTTP request to a chart repository or an
	// OCI registry.
	transport http.RoundTripper
	// now is the clock of index expiry and cache recency (a test sets it).
	now func() time.Time
	// gitTemp holds Git trees when there is no CacheDir (git.go).
	gitTemp gitTemp
}

// New returns a Fetcher for cfg.
func New(cfg Config) (*Fetcher, error) {
	if err := cfg.Repositories.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	f := &Fetcher{cfg: cfg, transport: newTransport(), now: time.Now}
	c, err := openCache(cfg.CacheDir, cfg.CacheBytes, f.clock)
	if err != nil {
		return nil, fmt.Errorf("fetch cache: %w", err)
	}
	f.cache = c
	return f, nil
}

// clock is f.now, read when it is used so a test can replace it.
func (f *Fetcher) clock() time.Time { return f.now() }
