package gitmirror_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-gitops/ferry/internal/gitmirror"
	"github.com/ferry-gitops/ferry/internal/gittest"
)

const (
	repoName = "acme/app"
	token    = "ghs_mirrorTestToken0123456789abcdef"
	allHeads = "+refs/heads/*:refs/heads/*"
)

// hermetic keeps the user's git configuration (credential helpers, URL
// rewrites) out of the git processes gitmirror starts.
func hermetic(t *testing.T) {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
}

// setup starts a git server holding acme/app with one commit on main and
// returns it, the clone URL, the commit, and empty mirrors.
func setup(t *testing.T) (*gittest.Server, string, string, *gitmirror.Mirrors) {
	t.Helper()
	hermetic(t)
	srv := gittest.NewServer(t)
	srv.SetToken(token)
	cloneURL := srv.CreateRepo(t, repoName, "")
	first := srv.Commit(t, repoName, "main", map[string]string{"apps/web.yaml": "image: web:1\n"}, "initial")
	m, err := gitmirror.New(filepath.Join(t.TempDir(), "mirrors"))
	if err != nil {
		t.Fatal(err)
	}
	return srv, cloneURL, first, m
}

// git runs a read-only git command in a mirror.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func revParse(t *testing.T, dir, rev string) string {
	t.Helper()
	return git(t, dir, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
}

// objects lists every object id stored in a repository.
func objects(t *testing.T, dir string) []string {
	t.Helper()
	out := git(t, dir, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)")
	if out == "" {
		return nil
	}
	return strings.Fields(out)
}

// assertNoToken fails if the token, raw or in the Basic form git sends,
// appears in any file under dir.
func assertNoToken(t *testing.T, dir string) {
	t.Helper()
	basic := base64.StdEncoding.EncodeToString([]byte(gittest.User + ":" + token))
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, secret := range []string{token, basic} {
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s contains the token (%q)", path, secret)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatalf("no files under %s: the walk checked nothing", dir)
	}
}

func TestFetchIntoMirror(t *testing.T) {
	srv, cloneURL, first, m := setup(t)
	ctx := context.Background()
	srv.Commit(t, repoName, "env/prod", map[string]string{"apps/web.yaml": "image: web:0\n"}, "prod")

	dir, err := m.Fetch(ctx, repoName, cloneURL, token, "+refs/heads/main:refs/heads/main")
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	want, err := m.Path(repoName)
	if err != nil || dir != want || !strings.HasPrefix(dir, m.Dir+string(filepath.Separator)) {
		t.Fatalf("Fetch dir = %s; Path = %s, %v; want the same path under %s", dir, want, err, m.Dir)
	}
	if got := git(t, dir, "rev-parse", "--is-bare-repository"); got != "true" {
		t.Errorf("mirror is not bare: %s", got)
	}
	if got := revParse(t, dir, "refs/heads/main"); got != first {
		t.Errorf("main = %s, want %s", got, first)
	}
	if got := git(t, dir, "show", "refs/heads/main:apps/web.yaml"); got != "image: web:1" {
		t.Errorf("apps/web.yaml = %q", got)
	}
	// Only the refspec asked for is fetched.
	if refs := git(t, dir, "for-each-ref", "--format=%(refname)"); refs != "refs/heads/main" {
		t.Errorf("refs = %q, want only refs/heads/main", refs)
	}
	if got := git(t, dir, "config", "--get", "gc.auto"); got != "0" {
		t.Errorf("gc.auto = %q, want 0", got)
	}
	// The token authenticated the fetch as GitHub expects it.
	var served bool
	for _, r := range srv.Requests() {
		if r.Service == "git-upload-pack" && r.Status == 200 {
			served = true
			if r.User != gittest.User {
				t.Errorf("request %+v authenticated as %q, want %q", r, r.User, gittest.User)
			}
		}
	}
	if !served {
		t.Errorf("requests = %+v, want upload-pack served", srv.Requests())
	}
	assertNoToken(t, dir)
}

func TestFetchIsIncremental(t *testing.T) {
	srv, cloneURL, first, m := setup(t)
	ctx := context.Background()
	dir, err := m.Fetch(ctx, repoName, cloneURL, token, allHeads)
	if err != nil {
		t.Fatalf("first Fetch: %v", err)
	}
	before := objects(t, dir)
	second := srv.Commit(t, repoName, "main", map[string]string{"apps/web.yaml": "image: web:2\n"}, "bump")

	// The packet trace shows what the client told the server it has.
	trace := filepath.Join(t.TempDir(), "packet.trace")
	t.Setenv("GIT_TRACE_PACKET", trace)
	dir2, err := m.Fetch(ctx, repoName, cloneURL, token, allHeads)
	if err != nil {
		t.Fatalf("second Fetch: %v", err)
	}
	if dir2 != dir {
		t.Fatalf("second Fetch used %s, want the same mirror %s", dir2, dir)
	}
	if got := revParse(t, dir, "refs/heads/main"); got != second {
		t.Errorf("main = %s after the second fetch, want the new commit %s", got, second)
	}
	if got := revParse(t, dir, second+"^"); got != first {
		t.Errorf("parent of the new commit = %s, want %s", got, first)
	}
	data, err := os.ReadFile(trace)
	if err != nil {
		t.Fatalf("packet trace: %v", err)
	}
	if !bytes.Contains(data, []byte("have "+first)) {
		t.Errorf("second fetch did not negotiate from the mirror's %s; trace:\n%s", first, data)
	}
	if bytes.Contains(data, []byte(token)) {
		t.Errorf("packet trace contains the token")
	}
	// Exactly the objects the new commit introduced were added: the new
	// commit, its root tree, the apps/ tree and the new blob.
	after := objects(t, dir)
	var added []string
	for _, o := range after {
		if !slices.Contains(before, o) {
			added = append(added, o)
		}
	}
	for _, o := range before {
		if !slices.Contains(after, o) {
			t.Errorf("object %s vanished from the mirror", o)
		}
	}
	if len(added) != 4 || !slices.Contains(added, second) {
		t.Errorf("objects added by the second fetch = %v, want the 4 objects of %s", added, second)
	}
}

func TestWrongTokenNeverLeaks(t *testing.T) {
	srv, cloneURL, _, m := setup(t)
	ctx := context.Background()
	// A first good fetch creates the mirror, so its config exists to check.
	dir, err := m.Fetch(ctx, repoName, cloneURL, token, allHeads)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	srv.SetToken("ghs_someOtherTokenTheServerWants")
	_, err = m.Fetch(ctx, repoName, cloneURL, token, allHeads)
	if err == nil {
		t.Fatal("Fetch with a token the server refuses succeeded")
	}
	basic := base64.StdEncoding.EncodeToString([]byte(gittest.User + ":" + token))
	for _, secret := range []string{token, basic} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains the token", err)
		}
	}
	if !strings.Contains(err.Error(), "fetch "+repoName) {
		t.Errorf("error %q does not name the repository", err)
	}
	config, err := os.ReadFile(filepath.Join(dir, "config"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(config), token) || strings.Contains(string(config), basic) ||
		strings.Contains(string(config), "extraHeader") || strings.Contains(string(config), "[remote") {
		t.Errorf("mirror config holds credentials or a remote:\n%s", config)
	}
	assertNoToken(t, dir)

	// A push with the refused token fails the same way.
	err = m.Push(ctx, repoName, cloneURL, token, "refs/heads/main:refs/heads/copy")
	if err == nil || strings.Contains(err.Error(), token) || strings.Contains(err.Error(), basic) {
		t.Errorf("Push with a refused token = %v, want an error without the token", err)
	}
	assertNoToken(t, dir)
}

func TestFetchWithoutToken(t *testing.T) {
	_, cloneURL, _, m := setup(t)
	if _, err := m.Fetch(context.Background(), repoName, cloneURL, "", allHeads); err == nil {
		t.Fatal("anonymous Fetch of a repository that needs a token succeeded")
	}
}

func TestRefusedCloneURLs(t *testing.T) {
	srv, cloneURL, _, m := setup(t)
	ctx := context.Background()
	withCreds := strings.Replace(cloneURL, "http://", "http://"+gittest.User+":"+token+"@", 1)
	withUser := strings.Replace(cloneURL, "http://", "http://"+gittest.User+"@", 1)
	pwned := filepath.Join(t.TempDir(), "pwned")
	tests := []struct {
		name string
		url  string
	}{
		{"embedded credentials", withCreds},
		{"embedded user", withUser},
		{"token as user", strings.Replace(cloneURL, "http://", "http://"+token+"@", 1)},
		{"unparsable with credentials", strings.Replace(cloneURL, "http://", "http://x:"+token+"%zz@", 1)},
		{"file scheme", "file://" + srv.RepoPath(repoName)},
		{"ext transport", "ext::sh -c touch% " + pwned},
		{"ssh scheme", "ssh://git@example.invalid/acme/app.git"},
		{"scp-like", "git@example.invalid:acme/app.git"},
		{"local path", srv.RepoPath(repoName)},
		{"git scheme", "git://example.invalid/acme/app.git"},
		{"empty", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(srv.Requests())
			_, err := m.Fetch(ctx, repoName, tc.url, token, allHeads)
			if err == nil {
				t.Fatalf("Fetch(%q) succeeded, want it refused", tc.url)
			}
			if !strings.Contains(err.Error(), "want an http(s) URL without credentials") {
				t.Errorf("Fetch(%q) = %v, want the URL refused before running git", tc.url, err)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("error %q contains the token", err)
			}
			err = m.Push(ctx, repoName, tc.url, token, "refs/heads/main:refs/heads/main")
			if err == nil || !strings.Contains(err.Error(), "want an http(s) URL without credentials") {
				t.Errorf("Push(%q) = %v, want the URL refused before running git", tc.url, err)
			}
			if n := len(srv.Requests()) - before; n != 0 {
				t.Errorf("the server saw %d request(s), want none", n)
			}
			if _, err := os.Stat(filepath.Join(m.Dir, repoName+".git")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a refused URL left a mirror behind: %v", err)
			}
		})
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Errorf("the ext:: transport ran a command")
	}
}

func TestRepositoryNames(t *testing.T) {
	hermetic(t)
	m, err := gitmirror.New(filepath.Join(t.TempDir(), "mirrors"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want string // path relative to m.Dir; "" means refused
	}{
		{"acme/app", "acme/app.git"},
		{"Acme/App", "acme/app.git"}, // GitHub names are case-insensitive
		{"acme/app.v2", "acme/app.v2.git"},
		{"my-org/my_repo-1", "my-org/my_repo-1.git"},
		{"../x", ""},
		{"x/..", ""},
		{"acme/..", ""},
		{"acme/../../etc", ""},
		{"a/b/c", ""},
		{"acme", ""},
		{"/acme/app", ""},
		{"acme/app/", ""},
		{"acme/", ""},
		{"/app", ""},
		{"", ""},
		{"./x", ""},
		{"acme/.", ""},
		{`acme\app`, ""},
		{"acme/app name", ""},
		{"acme/app\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := m.Path(tc.name)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("Path(%q) = %s, want it refused", tc.name, got)
				}
				if _, err := m.Fetch(context.Background(), tc.name, "https://example.invalid/x.git", token, allHeads); err == nil {
					t.Errorf("Fetch(%q) succeeded, want it refused", tc.name)
				}
				if err := m.Push(context.Background(), tc.name, "https://example.invalid/x.git", token, "main"); err == nil {
					t.Errorf("Push(%q) succeeded, want it refused", tc.name)
				}
				return
			}
			if err != nil || got != filepath.Join(m.Dir, filepath.FromSlash(tc.want)) {
				t.Errorf("Path(%q) = %s, %v; want %s under %s", tc.name, got, err, tc.want, m.Dir)
			}
		})
	}
	entries, err := os.ReadDir(m.Dir)
	if err != nil || len(entries) != 0 {
		t.Errorf("refused names created %v (%v) under the mirrors dir", entries, err)
	}
}

func TestConcurrentFetches(t *testing.T) {
	srv, cloneURL, _, m := setup(t)
	head := srv.Commit(t, repoName, "main", map[string]string{"apps/api.yaml": "image: api:1\n"}, "api")
	const n = 5
	var wg sync.WaitGroup
	dirs := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			dirs[i], errs[i] = m.Fetch(context.Background(), repoName, cloneURL, token, allHeads)
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("fetch %d: %v", i, errs[i])
		}
		if dirs[i] != dirs[0] {
			t.Errorf("fetch %d used %s, fetch 0 %s", i, dirs[i], dirs[0])
		}
	}
	if t.Failed() {
		return
	}
	if got := revParse(t, dirs[0], "refs/heads/main"); got != head {
		t.Errorf("main = %s, want %s", got, head)
	}
	if out := git(t, dirs[0], "fsck", "--no-progress", "--no-dangling"); out != "" {
		t.Errorf("fsck: %s", out)
	}
}

func TestPushNewBranch(t *testing.T) {
	srv, cloneURL, first, m := setup(t)
	ctx := context.Background()
	dir, err := m.Fetch(ctx, repoName, cloneURL, token, allHeads)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	// A new commit made in the mirror, as a promotion job would.
	tree := git(t, dir, "rev-parse", "refs/heads/main^{tree}")
	cmd := exec.Command("git", "-C", dir, "commit-tree", tree, "-p", first, "-m", "promote")
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=ferry", "GIT_AUTHOR_EMAIL=ferry@example.invalid",
		"GIT_COMMITTER_NAME=ferry", "GIT_COMMITTER_EMAIL=ferry@example.invalid")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("commit-tree: %v", err)
	}
	commit := strings.TrimSpace(string(out))
	git(t, dir, "update-ref", "refs/heads/ferry/promote", commit)

	if _, err := srv.RevParse(repoName, "ferry/promote"); err == nil {
		t.Fatal("ferry/promote exists on the server before the push")
	}
	if err := m.Push(ctx, repoName, cloneURL, token, "refs/heads/ferry/promote:refs/heads/ferry/promote"); err != nil {
		t.Fatalf("Push: %v", err)
	}
	if got, err := srv.RevParse(repoName, "ferry/promote"); err != nil || got != commit {
		t.Errorf("server ferry/promote = %s, %v; want the pushed %s", got, err, commit)
	}
	if got, _ := srv.RevParse(repoName, "main"); got != first {
		t.Errorf("server main moved to %s", got)
	}
	var pushed bool
	for _, r := range srv.Requests() {
		if r.Service == "git-receive-pack" && r.Method == "POST" && r.Status == 200 {
			pushed = r.User == gittest.User
		}
	}
	if !pushed {
		t.Errorf("requests = %+v, want an authenticated receive-pack POST", srv.Requests())
	}
	assertNoToken(t, dir)
}
