package fetch

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/gittest"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

const gitToken = "s3cret-git-token"

// gitFixture is a git server holding acme/bases: two commits on main, a
// lightweight tag v1 and an annotated tag v1-annotated on the first, a
// branch next at the second.
type gitFixture struct {
	srv           *gittest.Server
	url           string
	first, second string
	creds         Repository
}

func newGitFixture(t *testing.T) *gitFixture {
	t.Helper()
	srv := gittest.NewServer(t)
	srv.SetToken(gitToken)
	url := srv.CreateRepo(t, "acme/bases", "")
	first := srv.Commit(t, "acme/bases", "main", map[string]string{"base/cm.yaml": "kind: ConfigMap\nname: one\n"}, "one")
	second := srv.Commit(t, "acme/bases", "main", map[string]string{"base/cm.yaml": "kind: ConfigMap\nname: two\n"}, "two")
	bare := srv.RepoPath("acme/bases")
	gitIn(t, bare, "tag", "v1", first)
	gitIn(t, bare, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "tag", "-a", "-m", "annotated", "v1-annotated", first)
	gitIn(t, bare, "branch", "next", second)
	dir := t.TempDir()
	user, pass := filepath.Join(dir, "user"), filepath.Join(dir, "pass")
	writeFile(t, user, gittest.User)
	writeFile(t, pass, gitToken)
	return &gitFixture{srv: srv, url: url, first: first, second: second,
		creds: Repository{URL: srv.URL() + "acme", UsernameFile: user, PasswordFile: pass}}
}

func (fx *gitFixture) fetcher(t *testing.T, cfg Config) *Fetcher {
	t.Helper()
	if cfg.Repositories == nil {
		cfg.Repositories = Allowlist{fx.creds}
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func gitIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// readTree reads a file of a fetched commit as a render would.
func readTree(t *testing.T, g *GitTree, name string) string {
	t.Helper()
	tree, err := repofs.OpenGit(context.Background(), g.Dir, g.Commit)
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	b, err := tree.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestGitRevisions(t *testing.T) {
	fx := newGitFixture(t)
	f := fx.fetcher(t, Config{CacheDir: t.TempDir()})
	tests := []struct {
		ref, want string
	}{
		{"", fx.second}, {"main", fx.second}, {"refs/heads/main", fx.second}, {"next", fx.second},
		{"v1", fx.first}, {"v1-annotated", fx.first}, {"refs/tags/v1", fx.first},
		{fx.first, fx.first}, {strings.ToUpper(fx.first), fx.first}, {fx.first[:9], fx.first},
	}
	for _, tt := range tests {
		g, err := f.Git(context.Background(), fx.url, tt.ref)
		if err != nil {
			t.Errorf("Git(%q): %v", tt.ref, err)
			continue
		}
		if g.Commit != tt.want || g.URL != fx.url {
			t.Errorf("Git(%q) = %s %s, want commit %s", tt.ref, g.URL, g.Commit, tt.want)
		}
		name := map[string]string{fx.first: "one", fx.second: "two"}[tt.want]
		if got := readTree(t, g, "base/cm.yaml"); !strings.Contains(got, name) {
			t.Errorf("Git(%q): base/cm.yaml = %q", tt.ref, got)
		}
	}
	for _, req := range fx.srv.Requests() {
		if req.User != gittest.User || req.Status != http.StatusOK {
			t.Errorf("request %s %s: user %q status %d", req.Method, req.Path, req.User, req.Status)
		}
	}
	if _, err := f.Git(context.Background(), fx.url, "no-such-branch"); err == nil || !strings.Contains(err.Error(), "no branch or tag") {
		t.Errorf("missing ref: %v", err)
	}
}

// TestGitCache: a commit fetched once is read from the cache by every
// later fetch, in this process or another sharing the directory, with no
// request at all; a tag is resolved once per IndexTTL.
func TestGitCache(t *testing.T) {
	fx := newGitFixture(t)
	cache := t.TempDir()
	first, err := fx.fetcher(t, Config{CacheDir: cache}).Git(context.Background(), fx.url, "v1")
	if err != nil {
		t.Fatal(err)
	}
	before := len(fx.srv.Requests())
	other := fx.fetcher(t, Config{CacheDir: cache}) // another worker process
	for _, ref := range []string{fx.first, "v1"} {
		g, err := other.Git(context.Background(), fx.url, ref)
		if err != nil {
			t.Fatal(err)
		}
		if g.Dir != first.Dir || g.Commit != fx.first {
			t.Errorf("Git(%s) = %+v, want the cached %+v", ref, g, first)
		}
	}
	if got := fx.srv.Requests()[before:]; len(got) != 0 {
		t.Errorf("cached fetches sent %d requests: %+v", len(got), got)
	}
}

// TestGitConcurrent: fetches of one commit by several processes sharing a
// cache fetch it once.
func TestGitConcurrent(t *testing.T) {
	fx := newGitFixture(t)
	cache := t.TempDir()
	var wg sync.WaitGroup
	dirs := make([]string, 6)
	for i := range dirs {
		f := fx.fetcher(t, Config{CacheDir: cache})
		wg.Add(1)
		go func() {
			defer wg.Done()
			g, err := f.Git(context.Background(), fx.url, fx.second)
			if err != nil {
				t.Error(err)
				return
			}
			dirs[i] = g.Dir
		}()
	}
	wg.Wait()
	fetches := 0
	for _, r := range fx.srv.Requests() {
		if r.Method == http.MethodPost && r.Service == "git-upload-pack" {
			fetches++
		}
	}
	if fetches != 1 {
		t.Errorf("%d upload-pack requests for one commit, want 1", fetches)
	}
	for _, d := range dirs {
		if d != dirs[0] {
			t.Errorf("dirs %v differ", dirs)
		}
	}
}

// TestGitRefused: what is not allowed, or not an http(s) repository, or
// not a revision, sends no request, and says why.
func TestGitRefused(t *testing.T) {
	fx := newGitFixture(t)
	f := fx.fetcher(t, Config{})
	other := fx.srv.URL() + "evil/bases.git"
	tests := []struct{ url, ref, want string }{
		{other, "", other + " is not an allowed repository"},
		{fx.srv.URL() + "acme-other/x", "", "is not an allowed repository"},
		{"ssh://git@github.com/acme/bases", "", "over HTTPS only"},
		{"file:///etc", "", "over HTTPS only"},
		{strings.Replace(fx.url, "://", "://user:pw@", 1), "", "cannot carry credentials"},
		{fx.url + "?x=1", "", "query"},
		{fx.srv.URL() + "acme/../evil/bases.git", "", `".."`},
		{fx.srv.URL() + "acme/%2e%2e/evil/bases.git", "", `".."`},
		{fx.url, "--upload-pack=touch /tmp/pwned", "is not a branch, tag or commit name"},
		{fx.url, "a..b", "is not a branch"},
	}
	for _, tt := range tests {
		_, err := f.Git(context.Background(), tt.url, tt.ref)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Git(%s, %q) = %v, want %q", tt.url, tt.ref, err, tt.want)
		}
	}
	_, err := f.Git(context.Background(), other, "")
	var na *NotAllowedError
	if !errors.As(err, &na) || !errors.Is(err, ErrNotAllowed) || !strings.Contains(err.Error(), "repositories:") {
		t.Errorf("not allowed: %v", err)
	}
	if n := len(fx.srv.Requests()); n != 0 {
		t.Errorf("refused fetches sent %d requests", n)
	}
}

// TestGitCredentials: the token goes in a header, and never into an error.
func TestGitCredentials(t *testing.T) {
	fx := newGitFixture(t)
	writeFile(t, fx.creds.PasswordFile, "wrong-token-value")
	f := fx.fetcher(t, Config{})
	_, err := f.Git(context.Background(), fx.url, "main")
	if err == nil {
		t.Fatal("fetch with a wrong token succeeded")
	}
	basic := base64.StdEncoding.EncodeToString([]byte(gittest.User + ":wrong-token-value"))
	for _, secret := range []string{"wrong-token-value", basic} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows a credential: %v", err)
		}
	}
	if !strings.Contains(err.Error(), fx.url) {
		t.Errorf("error does not name the repository: %v", err)
	}
	reqs := fx.srv.Requests()
	if len(reqs) == 0 || reqs[0].User != gittest.User {
		t.Errorf("requests %+v did not carry the configured user", reqs)
	}
	// Without credentials configured, none are sent.
	noCreds := fx.fetcher(t, Config{Repositories: Allowlist{{URL: fx.creds.URL}}})
	if _, err := noCreds.Git(context.Background(), fx.url, "main"); err == nil {
		t.Error("fetch without credentials succeeded")
	}
	if r := fx.srv.Requests(); r[len(r)-1].User != "" {
		t.Errorf("a user was sent without credentials: %+v", r[len(r)-1])
	}
}

func TestGitSizeLimit(t *testing.T) {
	fx := newGitFixture(t)
	big := make([]byte, 256<<10)
	_, _ = rand.Read(big)
	commit := fx.srv.Commit(t, "acme/bases", "big", map[string]string{"big.txt": base64.StdEncoding.EncodeToString(big)}, "big")
	cache := t.TempDir()
	f := fx.fetcher(t, Config{CacheDir: cache, MaxBytes: 64 << 10})
	_, err := f.Git(context.Background(), fx.url, commit)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "maxBytes") {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	entries, _ := filepath.Glob(filepath.Join(cache, gitSubdir, "*", "*"))
	for _, e := range entries {
		if filepath.Base(e) != gitLockName {
			t.Errorf("left %s in the cache", e)
		}
	}
	if _, err := f.Git(context.Background(), fx.url, fx.first); err != nil {
		t.Errorf("a small commit of the same repository: %v", err)
	}
}

func TestGitTimeout(t *testing.T) {
	stall := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(stall)
	f, err := New(Config{Repositories: Allowlist{{URL: srv.URL}}, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = f.Git(context.Background(), srv.URL+"/acme/bases.git", "main")
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestGitEviction: past CacheBytes the least recently used commit goes,
// unless it was used within gitRecent.
func TestGitEviction(t *testing.T) {
	fx := newGitFixture(t)
	cache := t.TempDir()
	f := fx.fetcher(t, Config{CacheDir: cache, CacheBytes: 1})
	long := time.Now().Add(-time.Hour)
	f.now = func() time.Time { return long }
	old, err := f.Git(context.Background(), fx.url, fx.first)
	if err != nil {
		t.Fatal(err)
	}
	f.now = time.Now
	recent, err := f.Git(context.Background(), fx.url, fx.second)
	if err != nil {
		t.Fatal(err)
	}
	if isDir(old.Dir) {
		t.Error("the old commit was kept over the cache bound")
	}
	if !isDir(recent.Dir) {
		t.Error("the commit just fetched was evicted")
	}
	if _, err := f.Git(context.Background(), fx.url, fx.first); err != nil || !isDir(old.Dir) {
		t.Errorf("refetch of an evicted commit: %v", err)
	}
	if !isDir(recent.Dir) {
		t.Error("a commit used within gitRecent was evicted")
	}
}

// TestGitNoCacheDir: without a cache directory, trees go to a temporary
// directory of the Fetcher's.
func TestGitNoCacheDir(t *testing.T) {
	fx := newGitFixture(t)
	f := fx.fetcher(t, Config{})
	g, err := f.Git(context.Background(), fx.url, "v1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(f.gitTemp.dir) })
	if !strings.HasPrefix(g.Dir, os.TempDir()) || readTree(t, g, "base/cm.yaml") == "" {
		t.Errorf("tree at %s", g.Dir)
	}
}
