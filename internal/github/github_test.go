package github

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/githubtest"
)

const testAppID int64 = 4242

// appKey is one RSA key for the whole test binary: generating one per test
// would dominate the run time.
var appKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func testKey(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := appKey()
	if err != nil {
		t.Fatal(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

// sleeps records the waits the rate-limit transport asked for instead of
// waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(req *http.Request, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return req.Context().Err()
}

func (s *sleeps) get() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// env is an App with a client for the default installation, against a fake
// GitHub that verifies the App's JWTs with its public key.
type env struct {
	gh     *githubtest.Server
	app    *App
	client *Client
	sleeps *sleeps
	repo   Repo
}

func newEnv(t *testing.T, opts ...githubtest.Option) *env {
	t.Helper()
	key, pemKey := testKey(t)
	fake := githubtest.New(t, append([]githubtest.Option{githubtest.WithAppKey(testAppID, &key.PublicKey)}, opts...)...)
	fake.AddRepo(githubtest.Repo{Owner: "acme", Name: "app"})
	app, err := NewApp(testAppID, pemKey, fake.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &sleeps{}
	app.sleep = s.sleep
	c, err := app.Client(githubtest.DefaultInstallationID)
	if err != nil {
		t.Fatal(err)
	}
	return &env{gh: fake, app: app, client: c, sleeps: s, repo: Repo{Owner: "acme", Name: "app"}}
}

func TestNewApp(t *testing.T) {
	_, pemKey := testKey(t)
	tests := []struct {
		name    string
		id      int64
		key     []byte
		baseURL string
		wantURL string
		wantErr string
	}{
		{"github.com by default", 1, pemKey, "", DefaultAPIURL, ""},
		{"GHES root gets its slash", 1, pemKey, "https://ghe.example.com/api/v3", "https://ghe.example.com/api/v3/", ""},
		{"zero id", 0, pemKey, "", "", "must be positive"},
		{"negative id", -3, pemKey, "", "", "must be positive"},
		{"not a key", 1, []byte("not a key"), "", "", "private key"},
		{"no key", 1, nil, "", "", "private key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app, err := NewApp(tc.id, tc.key, tc.baseURL, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("NewApp = %v, want an error about %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if app.baseURL != tc.wantURL {
				t.Errorf("baseURL = %q, want %q", app.baseURL, tc.wantURL)
			}
			c, err := app.Client(7)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.REST.BaseURL.String(); got != tc.wantURL {
				t.Errorf("client BaseURL = %q, want %q (no api/v3/ appended)", got, tc.wantURL)
			}
		})
	}
}

func TestAppClientAuthenticatesAsInstallation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	repo, _, err := e.client.REST.Repositories.Get(ctx, "acme", "app")
	if err != nil {
		t.Fatalf("repos/get: %v", err)
	}
	if repo.GetFullName() != "acme/app" {
		t.Errorf("full name = %q", repo.GetFullName())
	}
	tok, err := e.app.Token(ctx, githubtest.DefaultInstallationID)
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if !e.gh.IsInstallationToken(tok) || !strings.HasPrefix(tok, "ghs_") {
		t.Errorf("Token() = %q, not an installation token the fake issued", tok)
	}
	// A second client for the installation shares the token.
	c2, err := e.app.Client(githubtest.DefaultInstallationID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c2.REST.Repositories.Get(ctx, "acme", "app"); err != nil {
		t.Fatal(err)
	}

	mints := e.gh.CallsTo("apps/create-installation-access-token")
	if len(mints) != 1 {
		t.Fatalf("%d installation tokens minted, want 1 reused", len(mints))
	}
	if auth := mints[0].Header.Get("Authorization"); !strings.HasPrefix(auth, "Bearer ") || mints[0].Status != http.StatusCreated {
		t.Errorf("token mint: Authorization %q, status %d; want an App JWT accepted", auth, mints[0].Status)
	}
	gets := e.gh.CallsTo("repos/get")
	if len(gets) != 2 {
		t.Fatalf("%d repos/get calls, want 2", len(gets))
	}
	for _, c := range gets {
		if auth := c.Header.Get("Authorization"); auth != "token "+tok || c.Status != http.StatusOK {
			t.Errorf("repos/get: Authorization %q, status %d; want the installation token", auth, c.Status)
		}
	}
}

func TestAppClientErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("key the App does not have", func(t *testing.T) {
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		_, pemKey := testKey(t)
		fake := githubtest.New(t, githubtest.WithAppKey(testAppID, &other.PublicKey))
		fake.AddRepo(githubtest.Repo{Owner: "acme", Name: "app"})
		app, err := NewApp(testAppID, pemKey, fake.URL(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.Token(ctx, githubtest.DefaultInstallationID); err == nil {
			t.Errorf("Token with a JWT the fake cannot verify succeeded")
		}
		c, err := app.Client(githubtest.DefaultInstallationID)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.REST.Repositories.Get(ctx, "acme", "app"); err == nil {
			t.Errorf("repos/get without a valid installation token succeeded")
		}
		if n := len(fake.CallsTo("repos/get")); n != 0 {
			t.Errorf("%d repos/get calls reached GitHub without a token", n)
		}
	})
	t.Run("repository of another installation", func(t *testing.T) {
		e := newEnv(t)
		e.gh.AddRepo(githubtest.Repo{Owner: "other", Name: "repo", InstallationID: 2})
		_, _, err := e.client.REST.Repositories.Get(ctx, "other", "repo")
		if !IsNotFound(err) {
			t.Errorf("repos/get of another installation's repository = %v, want a 404", err)
		}
		c2, err := e.app.Client(2)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c2.REST.Repositories.Get(ctx, "other", "repo"); err != nil {
			t.Errorf("installation 2 cannot read its repository: %v", err)
		}
	})
}

func TestParseRepo(t *testing.T) {
	tests := []struct {
		in   string
		want Repo
		ok   bool
	}{
		{"acme/app", Repo{"acme", "app"}, true},
		{"acme/app.v2", Repo{"acme", "app.v2"}, true},
		{"acme", Repo{}, false},
		{"/app", Repo{}, false},
		{"acme/", Repo{}, false},
		{"a/b/c", Repo{}, false},
		{"", Repo{}, false},
	}
	for _, tc := range tests {
		got, err := ParseRepo(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseRepo(%q) = %+v, %v; want %+v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok && got.String() != tc.in {
			t.Errorf("String() = %q, want %q", got.String(), tc.in)
		}
	}
}
