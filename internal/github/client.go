// Package github is ferry's boundary with GitHub: App authentication per
// installation, a transport that respects GitHub's rate limits, and the small
// set of REST operations ferry performs (comments, check runs, pull requests).
// Callers depend on their own narrow interfaces; *Client satisfies them.
package github

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v60/github"
)

// DefaultAPIURL is github.com's REST endpoint.
const DefaultAPIURL = "https://api.github.com/"

// App mints per-installation clients for one GitHub App. One ferry serves
// many installations: the installation id comes with each event.
type App struct {
	id      int64
	key     []byte
	baseURL string
	base    http.RoundTripper

	mu       sync.Mutex
	installs map[int64]*ghinstallation.Transport

	// Pauses, when set before the first call, shares rate-limit pauses
	// between workers and replicas (see gateTransport).
	Pauses Pauses
	// WriteLocks, when set with Pauses, serialises an installation's writes
	// across replicas.
	WriteLocks WriteLocks

	// sleep replaces the rate-limit transport's wait between retries (tests).
	sleep func(req *http.Request, d time.Duration) error
}

// NewApp checks the key and returns an App. baseURL is the REST root, e.g.
// https://api.github.com/ or https://HOST/api/v3/ for GitHub Enterprise Server.
func NewApp(appID int64, privateKey []byte, baseURL string, base http.RoundTripper) (*App, error) {
	if appID <= 0 {
		return nil, fmt.Errorf("github app id must be positive, got %d", appID)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	if baseURL == "" {
		baseURL = DefaultAPIURL
	}
	if !strings.HasSuffix(baseURL, "/") {
		baseURL += "/"
	}
	// Parse once now so a bad key fails at start-up, not at the first event.
	if _, err := ghinstallation.NewAppsTransport(base, appID, privateKey); err != nil {
		return nil, fmt.Errorf("github app private key: %w", err)
	}
	return &App{id: appID, key: privateKey, baseURL: baseURL, base: base, installs: map[int64]*ghinstallation.Transport{}}, nil
}

func (a *App) installation(id int64) (*ghinstallation.Transport, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.installs[id]; ok {
		return t, nil
	}
	next := a.base
	if a.Pauses != nil {
		sleep := a.sleep
		if sleep == nil {
			sleep = sleepCtx
		}
		next = &gateTransport{next: a.base, pauses: a.Pauses, installation: id, writes: &sync.Mutex{}, locks: a.WriteLocks, now: time.Now, sleep: sleep}
	}
	t, err := ghinstallation.New(&rateLimitTransport{next: next, sleep: a.sleep}, a.id, id, a.key)
	if err != nil {
		return nil, fmt.Errorf("installation %d: %w", id, err)
	}
	t.BaseURL = strings.TrimSuffix(a.baseURL, "/")
	a.installs[id] = t
	return t, nil
}

// Client returns a REST client acting as the installation.
func (a *App) Client(installationID int64) (*Client, error) {
	t, err := a.installation(installationID)
	if err != nil {
		return nil, err
	}
	c, err := gh.NewClient(&http.Client{Transport: t}).WithEnterpriseURLs(a.baseURL, a.baseURL)
	if err != nil {
		return nil, fmt.Errorf("github base url %q: %w", a.baseURL, err)
	}
	// WithEnterpriseURLs appends "api/v3/" to URLs lacking it; ferry takes the
	// REST root as given (api.github.com has no such suffix).
	c.BaseURL, _ = c.BaseURL.Parse(a.baseURL)
	return &Client{REST: c, installation: t, appID: a.id}, nil
}

// Token returns a current installation token, for git over HTTPS.
func (a *App) Token(ctx context.Context, installationID int64) (string, error) {
	t, err := a.installation(installationID)
	if err != nil {
		return "", err
	}
	tok, err := t.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("installation %d token: %w", installationID, err)
	}
	return tok, nil
}

// Client is a REST client for one installation.
type Client struct {
	REST         *gh.Client
	installation *ghinstallation.Transport
	appID        int64 // the App's id; 0 when not an App installation's client
}

// NewClient wraps an existing go-github client (tests, or a personal token).
func NewClient(c *gh.Client) *Client { return &Client{REST: c} }
