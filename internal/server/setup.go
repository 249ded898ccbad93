package server

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
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

// LoadCredentials reads the App registered through /setup, if any.
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

// Setup serves GitHub's App manifest flow: GET /setup posts app.yml (with
// this server's public address filled in) to GitHub; GitHub redirects to
// /setup/callback with a code that ferry exchanges for the App's id, key and
// webhook secret, stored in the data directory.
type Setup struct {
	Manifest []byte // app.yml
	// WebURL is where Apps are registered: https://github.com or a GHES host.
	WebURL  string
	APIURL  string
	DataDir string
	Client  *http.Client
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
	c.Response().Header().Set("Content-Type", "text/html; charset=utf-8")
	return setupPage.Execute(c.Response(), map[string]string{"Hook": base + "/webhook", "Action": action, "Manifest": string(js)})
}

// Callback exchanges the code for the App's credentials and stores them.
func (s *Setup) Callback(c echo.Context) error {
	code := c.QueryParam("code")
	if code == "" || strings.ContainsAny(code, "/?#") {
		return c.String(http.StatusBadRequest, "missing or bad code\n")
	}
	creds, err := s.convert(c.Request().Context(), code)
	if err != nil {
		return c.String(http.StatusBadGateway, "GitHub did not accept the code: "+err.Error()+"\n")
	}
	b, _ := json.MarshalIndent(creds, "", "  ")
	if err := os.MkdirAll(s.DataDir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(credentialsFile(s.DataDir), b, 0o600); err != nil {
		return fmt.Errorf("store app credentials: %w", err)
	}
	return c.String(http.StatusOK, fmt.Sprintf("Registered GitHub App %q (id %d). Install it on your repositories, then restart ferry.\n", creds.Slug, creds.AppID))
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
