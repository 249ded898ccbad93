package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"sigs.k8s.io/yaml"
)

// Credentials are what GitHub's manifest flow returns for a new App.
type Credentials struct {
	AppID         int64  `json:"id"`
	Slug          string `json:"slug"`
	HTMLURL       string `json:"html_url"`
	PEM           string `json:"pem"`
	WebhookSecret string `json:"webhook_secret"`
}

// credentialsFile is where the manifest flow's result is kept, 0600.
func credentialsFile(dataDir string) string { return filepath.Join(dataDir, "github-app.json") }

// LoadCredentials reads the App registered through `ferry setup`, if any.
func LoadCredentials(dataDir string) (*Credentials, error) {
	b, err := os.ReadFile(credentialsFile(dataDir))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read app credentials: %w", err)
	}
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", credentialsFile(dataDir), err)
	}
	return &c, nil
}

// Setup serves GitHub's App manifest flow for `ferry setup`: GET /setup
// posts app.yml (with this server's public address filled in) to GitHub;
// GitHub redirects to /setup/callback with a code that ferry exchanges for
// the App's id, key and webhook secret, stored in the data directory.
//
// State is this run's secret: /setup is served only with it (the address
// `ferry setup` prints), it travels through GitHub's redirect, and a
// callback without it is refused before GitHub is asked anything. Stored
// credentials are never overwritten.
type Setup struct {
	Manifest []byte // app.yml
	// WebURL is where Apps are registered: https://github.com or a GHES host.
	WebURL  string
	APIURL  string
	DataDir string
	Client  *http.Client
	// State must come from NewState; an empty State refuses every request.
	State string
}

// NewState is a random state for one run of the manifest flow.
func NewState() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("setup state: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// validState compares in constant time, so the state cannot be guessed a
// byte at a time.
func (s *Setup) validState(got string) bool {
	return s.State != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.State)) == 1
}

// errRegistered says an App's credentials are already stored.
type errRegistered struct{ path string }

func (e errRegistered) Error() string {
	return fmt.Sprintf("a GitHub App is already registered: its credentials are in %s; ferry never overwrites them (remove that file to register a new App)", e.path)
}

// registered refuses when credentials are already stored.
func (s *Setup) registered() error {
	path := credentialsFile(s.DataDir)
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return errRegistered{path: path}
	case errors.Is(err, fs.ErrNotExist):
		return nil
	}
	return fmt.Errorf("app credentials: %w", err)
}

// refuse answers 409 when credentials exist, 500 when that cannot be told.
func refuse(c echo.Context, err error) error {
	var reg errRegistered
	if errors.As(err, &reg) {
		return c.String(http.StatusConflict, err.Error()+"\n")
	}
	return err
}

var setupPage = template.Must(template.New("setup").Parse(`<!doctype html>
<html><head><title>Register ferry</title></head>
<body>
<h1>Register ferry as a GitHub App</h1>
<p>ferry will receive webhooks at <code>{{.Hook}}</code>.</p>
<form action="{{.Action}}" method="post">
<input type="hidden" name="manifest" value="{{.Manifest}}">
<button type="submit">Create the GitHub App</button>
</form>
</body></html>`))

// Page renders the registration form.
func (s *Setup) Page(c echo.Context) error {
	if !s.validState(c.QueryParam("state")) {
		return c.String(http.StatusForbidden, "open the address `ferry setup` printed (it carries this run's state)\n")
	}
	if err := s.registered(); err != nil {
		return refuse(c, err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(s.Manifest, &m); err != nil {
		return fmt.Errorf("app.yml: %w", err)
	}
	base := publicBase(c.Request())
	m["hook_attributes"] = map[string]any{"url": base + "/webhook", "active": true}
	m["redirect_url"] = base + "/setup/callback"
	js, err := json.Marshal(m)
	if err != nil {
		return err
	}
	action := strings.TrimSuffix(s.WebURL, "/") + "/settings/apps/new"
	if org := c.QueryParam("org"); org != "" {
		action = strings.TrimSuffix(s.WebURL, "/") + "/organizations/" + url.PathEscape(org) + "/settings/apps/new"
	}
	// GitHub hands state back on the redirect to /setup/callback.
	action += "?state=" + url.QueryEscape(s.State)
	c.Response().Header().Set("Content-Type", "text/html; charset=utf-8")
	return setupPage.Execute(c.Response(), map[string]string{"Hook": base + "/webhook", "Action": action, "Manifest": string(js)})
}

// Callback checks the state, exchanges the code for the App's credentials
// and stores them, refusing to replace stored ones.
func (s *Setup) Callback(c echo.Context) error {
	if !s.validState(c.QueryParam("state")) {
		return c.String(http.StatusBadRequest, "missing or wrong state: start again from the address `ferry setup` printed\n")
	}
	code := c.QueryParam("code")
	if code == "" || strings.ContainsAny(code, "/?#") {
		return c.String(http.StatusBadRequest, "missing or bad code\n")
	}
	if err := s.registered(); err != nil {
		return refuse(c, err)
	}
	creds, err := s.convert(c.Request().Context(), code)
	if err != nil {
		return c.String(http.StatusBadGateway, "GitHub did not accept the code: "+err.Error()+"\n")
	}
	if err := s.store(creds); err != nil {
		var reg errRegistered
		if errors.As(err, &reg) {
			msg := fmt.Sprintf("GitHub created App %q (%s) but it was not stored: %v; delete that App on GitHub\n", creds.Slug, creds.HTMLURL, err)
			return c.String(http.StatusConflict, msg)
		}
		return err
	}
	return c.String(http.StatusOK, fmt.Sprintf("Registered GitHub App %q (id %d). Install it on your repositories, then start `ferry serve`.\n", creds.Slug, creds.AppID))
}

// store writes creds 0600, only if no credentials exist yet (O_EXCL, so two
// callbacks at once cannot both win).
func (s *Setup) store(creds *Credentials) error {
	b, err := json.MarshalIndent(creds, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	path := credentialsFile(s.DataDir)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return errRegistered{path: path}
	}
	if err != nil {
		return fmt.Errorf("store app credentials: %w", err)
	}
	_, werr := f.Write(b)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path)
		return fmt.Errorf("store app credentials: %w", werr)
	}
	return nil
}

// RunSetup serves only the App manifest flow, for a first start before the
// App exists (and so before ferry has a webhook secret). It refuses to start
// when credentials are already stored.
func RunSetup(ctx context.Context, listen string, setup *Setup, log *slog.Logger) error {
	if err := setup.registered(); err != nil {
		return err
	}
	if setup.State == "" {
		return errors.New("setup: no state")
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/setup", setup.Page)
	e.GET("/setup/callback", setup.Callback)
	srv := HTTPLimits{}.httpServer(e)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", listen, err)
	}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	// The state is this run's one-time key to the flow: the operator needs
	// it, and it is worthless once an App is stored.
	log.Info("ferry setup: open this path in a browser, at the address GitHub will reach ferry by",
		"path", "/setup?state="+setup.State, "listen", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Setup) convert(ctx context.Context, code string) (*Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	u := strings.TrimSuffix(s.APIURL, "/") + "/app-manifests/" + url.PathEscape(code) + "/conversions"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var creds Credentials
	if err := json.Unmarshal(body, &creds); err != nil {
		return nil, err
	}
	if creds.AppID == 0 || creds.PEM == "" || creds.WebhookSecret == "" {
		return nil, fmt.Errorf("incomplete answer")
	}
	return &creds, nil
}

// publicBase is the scheme and host GitHub reaches this server at.
func publicBase(r *http.Request) string {
	scheme := "https"
	if r.TLS == nil && r.Header.Get("X-Forwarded-Proto") == "" && strings.HasPrefix(r.Host, "localhost") {
		scheme = "http"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	host := r.Host
	if h := r.Header.Get("X-Forwarded-Host"); h != "" {
		host = h
	}
	return scheme + "://" + host
}
