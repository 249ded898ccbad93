package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/ferry-gitops/ferry"
	"github.com/ferry-gitops/ferry/internal/githubtest"
)

func TestSetupManifestFlow(t *testing.T) {
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
	setup := &Setup{Manifest: ferry.AppManifest, WebURL: "https://github.com", APIURL: gh.URL(), DataDir: dataDir}
	e := echo.New()
	e.GET("/setup", setup.Page)
	e.GET("/setup/callback", setup.Callback)
	srv := httptest.NewServer(e)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/setup")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`action="https://github.com/settings/apps/new"`, "/webhook", "pull_request_review", "checks"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("setup page lacks %q:\n%s", want, page)
		}
	}

	resp, err = http.Get(srv.URL + "/setup/callback?code=the-code")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("callback status %d; calls %+v", resp.StatusCode, gh.Calls())
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
