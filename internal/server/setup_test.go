package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/ferry-gitops/ferry"
	"github.com/ferry-gitops/ferry/internal/githubtest"
)

const existingCreds = `{"id": 1, "slug": "the-real-ferry", "pem": "the real key", "webhook_secret": "the real secret"}`

// setupServer serves the manifest flow against a fake GitHub that turns
// the code "the-code" into an App.
func setupServer(t *testing.T, state string) (*httptest.Server, *githubtest.Server, string) {
	t.Helper()
	gh := githubtest.New(t)
	gh.Handle("apps/create-from-manifest", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/app-manifests/the-code/conversions") {
			http.Error(w, "unexpected code", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id": 77, "slug": "ferry-test", "html_url": "https://github.com/apps/ferry-test", "pem": "-----BEGIN RSA PRIVATE KEY-----\nMII...\n-----END RSA PRIVATE KEY-----\n", "webhook_secret": "s3cret"}`)
	})
	dataDir := t.TempDir()
	setup := &Setup{Manifest: ferry.AppManifest, WebURL: "https://github.com", APIURL: gh.URL(), DataDir: dataDir, State: state}
	e := echo.New()
	e.GET("/setup", setup.Page)
	e.GET("/setup/callback", setup.Callback)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv, gh, dataDir
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestSetupManifestFlow(t *testing.T) {
	state, err := NewState()
	if err != nil {
		t.Fatal(err)
	}
	srv, gh, dataDir := setupServer(t, state)

	code, page := get(t, srv.URL+"/setup?state="+state)
	if code != http.StatusOK {
		t.Fatalf("setup page: status %d: %s", code, page)
	}
	for _, want := range []string{`action="https://github.com/settings/apps/new?state=` + state + `"`, "/webhook", "/setup/callback", "pull_request_review", "checks"} {
		if !strings.Contains(page, want) {
			t.Errorf("setup page lacks %q:\n%s", want, page)
		}
	}

	if code, body := get(t, srv.URL+"/setup/callback?code=the-code&state="+state); code != http.StatusOK {
		t.Fatalf("callback status %d: %s; calls %+v", code, body, gh.Calls())
	}
	info, err := os.Stat(credentialsFile(dataDir))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %v, want 0600", info.Mode().Perm())
	}
	creds, err := LoadCredentials(dataDir)
	if err != nil || creds == nil || creds.AppID != 77 || creds.WebhookSecret != "s3cret" {
		t.Errorf("stored credentials %+v, %v", creds, err)
	}
	b, _ := json.Marshal(creds)
	if !strings.Contains(string(b), "BEGIN RSA PRIVATE KEY") {
		t.Errorf("private key not stored")
	}
}

func TestNewStateIsRandom(t *testing.T) {
	a, errA := NewState()
	b, errB := NewState()
	if errA != nil || errB != nil || a == b || len(a) < 40 {
		t.Errorf("states %q and %q (%v, %v): want two different ones of 32 random bytes", a, b, errA, errB)
	}
}

// A callback without this run's state, or once an App is stored, changes
// nothing and never reaches GitHub.
func TestSetupCallbackRefusals(t *testing.T) {
	const state = "this-runs-state-0123456789abcdefghijklmnopq"
	tests := []struct {
		name     string
		query    url.Values
		existing string // credentials stored before the callback
		want     int
		says     string
	}{
		{"no state", url.Values{"code": {"the-code"}}, "", http.StatusBadRequest, "state"},
		{"wrong state", url.Values{"code": {"the-code"}, "state": {"this-runs-state-0123456789abcdefghijklmnopX"}}, "", http.StatusBadRequest, "state"},
		{"state too short", url.Values{"code": {"the-code"}, "state": {state[:10]}}, "", http.StatusBadRequest, "state"},
		{"no code", url.Values{"state": {state}}, "", http.StatusBadRequest, "code"},
		{"credentials already stored", url.Values{"code": {"the-code"}, "state": {state}}, existingCreds, http.StatusConflict, "github-app.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, gh, dataDir := setupServer(t, state)
			if tt.existing != "" {
				if err := os.WriteFile(credentialsFile(dataDir), []byte(tt.existing), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			code, body := get(t, srv.URL+"/setup/callback?"+tt.query.Encode())
			if code != tt.want || !strings.Contains(body, tt.says) {
				t.Errorf("status %d %q, want %d saying %q", code, body, tt.want, tt.says)
			}
			if n := len(gh.Calls()); n != 0 {
				t.Errorf("%d calls to GitHub, want none", n)
			}
			got, err := os.ReadFile(credentialsFile(dataDir))
			if string(got) != tt.existing || (tt.existing == "" && !os.IsNotExist(err)) {
				t.Errorf("credentials file now %q (%v), want %q", got, err, tt.existing)
			}
		})
	}
}

func TestSetupPageRefusals(t *testing.T) {
	const state = "this-runs-state-0123456789abcdefghijklmnopq"
	tests := []struct {
		name     string
		query    string
		existing string
		want     int
	}{
		{"no state", "", "", http.StatusForbidden},
		{"wrong state", "?state=guess", "", http.StatusForbidden},
		{"credentials already stored", "?state=" + state, existingCreds, http.StatusConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _, dataDir := setupServer(t, state)
			if tt.existing != "" {
				os.WriteFile(credentialsFile(dataDir), []byte(tt.existing), 0o600)
			}
			code, body := get(t, srv.URL+"/setup"+tt.query)
			if code != tt.want || strings.Contains(body, state) || strings.Contains(body, "<form") {
				t.Errorf("status %d, want %d and no form:\n%s", code, tt.want, body)
			}
		})
	}
}

// An empty state (a Setup not made with NewState) opens nothing.
func TestSetupWithoutStateRefusesAll(t *testing.T) {
	srv, gh, _ := setupServer(t, "")
	if code, _ := get(t, srv.URL+"/setup?state="); code != http.StatusForbidden {
		t.Errorf("page: status %d, want 403", code)
	}
	if code, _ := get(t, srv.URL+"/setup/callback?code=the-code&state="); code != http.StatusBadRequest {
		t.Errorf("callback: status %d, want 400", code)
	}
	if n := len(gh.Calls()); n != 0 {
		t.Errorf("%d calls to GitHub", n)
	}
}

// Two callbacks that both got past the existence check: the second store
// is refused and the first App's credentials stay.
func TestSetupStoreNeverOverwrites(t *testing.T) {
	s := &Setup{DataDir: t.TempDir()}
	if err := s.store(&Credentials{AppID: 1, PEM: "first key", WebhookSecret: "first"}); err != nil {
		t.Fatal(err)
	}
	err := s.store(&Credentials{AppID: 2, PEM: "second key", WebhookSecret: "second"})
	if _, ok := err.(errRegistered); !ok {
		t.Fatalf("second store: %v, want errRegistered", err)
	}
	creds, _ := LoadCredentials(s.DataDir)
	if creds == nil || creds.AppID != 1 || creds.PEM != "first key" {
		t.Errorf("stored %+v, want the first App", creds)
	}
}

func TestRunSetupRefusesWhenRegistered(t *testing.T) {
	dataDir := t.TempDir()
	path := filepath.Join(dataDir, "github-app.json")
	os.WriteFile(path, []byte(existingCreds), 0o600)
	setup := &Setup{Manifest: ferry.AppManifest, DataDir: dataDir, State: "s"}
	err := RunSetup(context.Background(), "127.0.0.1:0", setup, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "remove") {
		t.Errorf("RunSetup with stored credentials: %v, want a refusal naming %s", err, path)
	}
}
