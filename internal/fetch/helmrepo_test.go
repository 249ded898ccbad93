package fetch

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/ferry-gitops/ferry/internal/fetchtest"
)

// newFetcher is a Fetcher for the allowed URLs, caching in a new directory.
func newFetcher(t *testing.T, allowed ...string) *Fetcher {
	t.Helper()
	return newFetcherConfig(t, Config{CacheDir: t.TempDir()}, allowed...)
}

func newFetcherConfig(t *testing.T, cfg Config, allowed ...string) *Fetcher {
	t.Helper()
	for _, u := range allowed {
		cfg.Repositories = append(cfg.Repositories, Repository{URL: u, InsecureOCIForceHTTP: strings.HasPrefix(u, "oci://")})
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// versionsRepo serves the chart "app" at several versions, prereleases
// among them.
func versionsRepo(t *testing.T) *fetchtest.ChartRepo {
	t.Helper()
	repo := fetchtest.NewChartRepo(t)
	for _, v := range []string{"1.0.0", "1.2.0", "1.2.3", "1.3.0-rc.1", "2.0.0", "4.7.1", "4.8.0", "4.8.2", "5.0.0-beta.1"} {
		repo.AddChart("app", v, map[string]string{"templates/cm.yaml": "kind: ConfigMap\nmetadata: {name: v" + v + "}\n"})
	}
	return repo
}

func TestHTTPResolvesVersions(t *testing.T) {
	repo := versionsRepo(t)
	tests := []struct{ version, want string }{
		{"1.2.3", "1.2.3"},
		{"v1.2.3", "1.2.3"},
		{"^1.2.0", "1.2.3"},
		{"~1.2.0", "1.2.3"},
		{">=4.0 <5", "4.8.2"},
		{"4.8.*", "4.8.2"},
		{"4.7.x", "4.7.1"},
		{"*", "4.8.2"},
		{"", "4.8.2"},
		{">=1.3.0-0 <2", "1.3.0-rc.1"},
		{">=5.0.0-0", "5.0.0-beta.1"},
		{"5.0.0-beta.1", "5.0.0-beta.1"},
		{"^1.0.0-0", "1.3.0-rc.1"},
	}
	f := newFetcher(t, repo.URL())
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			ch, err := f.Chart(context.Background(), ChartRef{RepoURL: repo.URL(), Chart: "app", Version: tt.version})
			if err != nil {
				t.Fatal(err)
			}
			if ch.Version != tt.want {
				t.Fatalf("resolved to %s, want %s", ch.Version, tt.want)
			}
			if !bytes.Equal(ch.Archive, repo.Archive("app", tt.want)) || ch.Digest != fetchtest.Digest(ch.Archive) {
				t.Fatal("archive or digest is not the served one")
			}
			c, err := loader.LoadArchive(bytes.NewReader(ch.Archive))
			if err != nil || c.Metadata.Version != tt.want {
				t.Fatalf("archive does not load as %s: %v", tt.want, err)
			}
		})
	}
}

func TestHTTPUnresolvable(t *testing.T) {
	repo := versionsRepo(t)
	f := newFetcher(t, repo.URL())
	tests := []struct{ chart, version, want string }{
		{"app", "9.9.9", "version 9.9.9 not found"},
		{"app", "^9", `no version matches "^9"`},
		{"app", "not a version", "neither a version nor a semver range"},
		{"other", "1.0.0", "has no chart other"},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			_, err := f.Chart(context.Background(), ChartRef{RepoURL: repo.URL(), Chart: tt.chart, Version: tt.version})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

func TestHTTPDigestMismatchRefused(t *testing.T) {
	repo := fetchtest.NewChartRepo(t)
	repo.AddChart("app", "1.0.0", nil)
	repo.SetDigest("app", "1.0.0", strings.Repeat("ab", 32))
	f := newFetcher(t, repo.URL())
	_, err := f.Chart(context.Background(), ChartRef{RepoURL: repo.URL(), Chart: "app", Version: "1.0.0"})
	if err == nil || !strings.Contains(err.Error(), "chart app 1.0.0") || !strings.Contains(err.Error(), "digest") {
		t.Fatalf("error %v, want a digest mismatch naming app 1.0.0", err)
	}
	// Nothing was kept: a fixed index is fetched and checked again.
	repo.SetDigest("app", "1.0.0", strings.TrimPrefix(fetchtest.Digest(repo.Archive("app", "1.0.0")), "sha256:"))
	f.now = func() time.Time { return time.Now().Add(IndexTTL) }
	if _, err := f.Chart(context.Background(), ChartRef{RepoURL: repo.URL(), Chart: "app", Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
}

func TestHTTPNoDigestInIndex(t *testing.T) {
	repo := fetchtest.NewChartRepo(t)
	want := repo.AddChart("app", "1.0.0", nil)
	repo.SetDigest("app", "1.0.0", "")
	f := newFetcher(t, repo.URL())
	ch, err := f.Chart(context.Background(), ChartRef{RepoURL: repo.URL(), Chart: "app", Version: "1.0.0"})
	if err != nil || ch.Digest != want {
		t.Fatalf("got %v, %v; want digest %s", ch, err, want)
	}
}

func TestHTTPChartURLs(t *testing.T) {
	repo := fetchtest.NewChartRepo(t)
	other := fetchtest.NewChartRepo(t)
	repo.AddChart("app", "1.0.0", nil)
	archive := fetchtest.RepoPath + "/charts/app-1.0.0.tgz"
	tests := []struct {
		name     string
		url      string
		allowed  []string
		notAllow bool
		served   []string // requests to repo
	}{
		{"relative", "charts/app-1.0.0.tgz", nil, false, []string{fetchtest.RepoPath + "/index.yaml", archive}},
		{"dot relative", "./charts/app-1.0.0.tgz", nil, false, []string{fetchtest.RepoPath + "/index.yaml", archive}},
		{"absolute in the repository", repo.URL() + "/charts/app-1.0.0.tgz", nil, false, []string{fetchtest.RepoPath + "/index.yaml", archive}},
		{"absolute on another allowed server", other.URL() + "/x.tgz", []string{other.URL()}, false, nil},
		{"absolute outside", other.URL() + "/x.tgz", nil, true, []string{fetchtest.RepoPath + "/index.yaml"}},
		{"relative escaping", "../elsewhere/app.tgz", nil, true, []string{fetchtest.RepoPath + "/index.yaml"}},
		{"scheme-relative outside", "//" + strings.TrimPrefix(other.URL(), "http://") + "/x.tgz", nil, true, []string{fetchtest.RepoPath + "/index.yaml"}},
		{"file URL", "file:///etc/passwd", nil, true, []string{fetchtest.RepoPath + "/index.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo.Reset()
			other.Reset()
			repo.SetChartURL("app", "1.0.0", tt.url)
			f := newFetcher(t, append([]string{repo.URL()}, tt.allowed...)...)
			_, err := f.Chart(context.Background(), ChartRef{RepoURL: repo.URL(), Chart: "app", Version: "1.0.0"})
			switch {
			case tt.notAllow:
				var na *NotAllowedError
				if !errors.As(err, &na) {
					t.Fatalf("error %v, want a NotAllowedError", err)
				}
				if got := other.Requests(); len(got) != 0 {
					t.Fatalf("the server outside got %v", got)
				}
			case tt.allowed != nil:
				if got := other.Requests(); len(got) != 1 || got[0] != "/stable/x.tgz" {
					t.Fatalf("the other allowed server got %v", got)
				}
				return // it serves no such archive: only the request matters
			case err != nil:
				t.Fatal(err)
			}
			if got := strings.Join(repo.Requests(), " "); got != strings.Join(tt.served, " ") {
				t.Fatalf("repository got %q, want %q", got, tt.served)
			}
		})
	}
}

func TestHTTPNotAllowedSendsNothing(t *testing.T) {
	repo := fetchtest.NewChartRepo(t)
	repo.AddChart("app", "1.0.0", nil)
	tests := []struct{ name, allowed string }{
		{"other path", repo.ServerURL() + "/other"},
		{"longer host", repo.ServerURL() + "0"},
		{"prefix without boundary", repo.ServerURL() + "/stab"},
		{"nothing allowed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var allowed []string
			if tt.allowed != "" {
				allowed = append(allowed, tt.allowed)
			}
			f := newFetcher(t, allowed...)
			_, err := f.Chart(context.Background(), ChartRef{RepoURL: repo.URL(), Chart: "app", Version: "1.0.0"})
			var na *NotAllowedError
			if !errors.As(err, &na) || !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("error %v, want a NotAllowedError", err)
			}
			if got := repo.Requests(); len(got) != 0 {
				t.Fatalf("server got %v", got)
			}
		})
	}
}

func TestHTTPRedirects(t *testing.T) {
	repo := fetchtest.NewChartRepo(t)
	outside := fetchtest.NewChartRepo(t)
	repo.AddChart("app", "1.0.0", nil)
	repo.SetChartURL("app", "1.0.0", "moved.tgz")
	moved := fetchtest.RepoPath + "/moved.tgz"

	repo.Handle(moved, http.RedirectHandler(repo.URL()+"/charts/app-1.0.0.tgz", http.StatusFound))
	f := newFetcher(t, repo.URL())
	if _, err := f.Chart(context.Background(), ChartRef{RepoURL: repo.URL(), Chart: "app", Version: "1.0.0"}); err != nil {
		t.Fatalf("redirect within the repository: %v", err)
	}

	repo.Handle(moved, http.RedirectHandler(outside.URL()+"/app.tgz", http.StatusFound))
	f = newFetcher(t, repo.URL())
	_, err := f.Chart(context.Background(), ChartRef{RepoURL: repo.URL(), Chart: "app", Version: "1.0.0"})
	if !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("redirect outside: error %v, want not allowed", err)
	}
	if got := outside.Requests(); len(got) != 0 {
		t.Fatalf("the server outside got %v", got)
	}
}

func TestHTTPSizeLimit(t *testing.T) {
	repo := fetchtest.NewChartRepo(t)
	repo.AddChart("big", "1.0.0", map[string]string{"files/blob": noise(200 << 10)})
	repo.AddChart("small", "1.0.0", nil)
	f := newFetcherConfig(t, Config{MaxBytes: 64 << 10}, repo.URL())
	_, err := f.Chart(context.Background(), ChartRef{RepoURL: repo.URL(), Chart: "big", Version: "1.0.0"})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "chart big 1.0.0") {
		t.Fatalf("error %v, want ErrTooLarge for chart big", err)
	}
	if _, err := f.Chart(context.Background(), ChartRef{RepoURL: repo.URL(), Chart: "small", Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	f = newFetcherConfig(t, Config{MaxBytes: 100}, repo.URL())
	_, err = f.Chart(context.Background(), ChartRef{RepoURL: repo.URL(), Chart: "small", Version: "1.0.0"})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "index.yaml") {
		t.Fatalf("error %v, want ErrTooLarge for the index", err)
	}
}

// noise is n bytes gzip cannot shrink much.
func noise(n int) string {
	var b strings.Builder
	x := uint32(2463534242)
	for b.Len() < n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b.WriteByte("abcdefghijklmnopqrstuvwxyz0123456789"[x%36])
	}
	return b.String()
}

func TestHTTPBasicAuth(t *testing.T) {
	repo := fetchtest.NewChartRepo(t)
	repo.AddChart("app", "1.0.0", nil)
	t.Setenv("FERRY_TEST_USER", "robot")
	t.Setenv("FERRY_TEST_PASS", "s3cret-pass")
	withAuth := Repository{URL: repo.URL(), UsernameEnv: "FERRY_TEST_USER", PasswordEnv: "FERRY_TEST_PASS"}
	ref := ChartRef{RepoURL: repo.URL(), Chart: "app", Version: "1.0.0"}

	// Without credentials configured, none are sent.
	f := newFetcherConfig(t, Config{CacheDir: t.TempDir()}, repo.URL())
	if _, err := f.Chart(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	for _, r := range repo.Log() {
		if r.User != "" {
			t.Fatalf("%s carried credentials none were configured for", r.Path)
		}
	}

	repo.RequireBasicAuth("robot", "s3cret-pass")
	_, err := newFetcherConfig(t, Config{}, repo.URL()).Chart(context.Background(), ref)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("error %v, want 401", err)
	}
	repo.Reset()
	f = newFetcherConfig(t, Config{Repositories: Allowlist{withAuth}})
	if _, err := f.Chart(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	for _, r := range repo.Log() {
		if r.User != "robot" {
			t.Fatalf("%s carried user %q, want robot", r.Path, r.User)
		}
	}

	t.Setenv("FERRY_TEST_PASS", "wrong-pass")
	_, err = newFetcherConfig(t, Config{Repositories: Allowlist{withAuth}}).Chart(context.Background(), ref)
	if err == nil || strings.Contains(err.Error(), "wrong-pass") || strings.Contains(err.Error(), "robot") {
		t.Fatalf("error %v: want a failure that does not show the credentials", err)
	}
}

func TestHTTPTimeout(t *testing.T) {
	repo := fetchtest.NewChartRepo(t)
	release := make(chan struct{})
	defer close(release)
	repo.Handle(fetchtest.RepoPath+"/index.yaml", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	f := newFetcherConfig(t, Config{Timeout: 200 * time.Millisecond}, repo.URL())
	start := time.Now()
	_, err := f.Chart(context.Background(), ChartRef{RepoURL: repo.URL(), Chart: "app", Version: "1.0.0"})
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("error %v, want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s", d)
	}
}
