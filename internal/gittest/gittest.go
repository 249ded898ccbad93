// Package gittest is test support: a real git smart-HTTP server (git
// http-backend behind net/http/cgi) serving bare repositories from a
// temporary directory, with GitHub-style token authentication. It is only
// for tests.
package gittest

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// User is the HTTP basic-auth user GitHub expects with an installation
// token as the password.
const User = "x-access-token"

// Request is one HTTP request the server received.
type Request struct {
	Method  string
	Path    string // URL path, e.g. /acme/app.git/info/refs
	Query   string
	Service string // git-upload-pack (fetch) or git-receive-pack (push); "" otherwise
	User    string // basic-auth user sent, "" when none
	Status  int
}

// Server is a git smart-HTTP server. It is safe for concurrent use.
type Server struct {
	root string // GIT_PROJECT_ROOT
	home string // HOME for the git processes, so no user config leaks in
	git  string
	srv  *httptest.Server

	mu       sync.Mutex
	token    string
	check    func(token string) bool
	requests []Request
}

// NewServer starts a git server that the test's cleanup stops. It serves
// nothing until CreateRepo and accepts no one until SetToken or
// SetTokenCheck.
func NewServer(t testing.TB) *Server {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skipf("gittest: git is not installed: %v", err)
	}
	s := &Server{root: t.TempDir(), home: t.TempDir(), git: git}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the server's base URL, with a trailing slash.
func (s *Server) URL() string { return s.srv.URL + "/" }

// SetToken sets the one token accepted as the basic-auth password (with
// user x-access-token). It replaces any SetTokenCheck.
func (s *Server) SetToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token, s.check = tok, nil
}

// SetTokenCheck accepts the tokens check approves, for example installation
// tokens minted by a githubtest server. It replaces any SetToken.
func (s *Server) SetTokenCheck(check func(token string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token, s.check = "", check
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	copy(out, s.requests)
	return out
}

// RepoPath is the bare repository directory for name ("acme/app").
func (s *Server) RepoPath(name string) string {
	return filepath.Join(s.root, filepath.FromSlash(name)+".git")
}

// CloneURL is the URL to clone name from, without credentials.
func (s *Server) CloneURL(name string) string { return s.srv.URL + "/" + name + ".git" }

// CreateRepo creates the bare repository name ("acme/app") and returns its
// clone URL. When fromDir is a git work tree, its branches and tags are
// pushed into it and its current branch becomes the default; when fromDir
// is "", the repository is empty with default branch main.
func (s *Server) CreateRepo(t testing.TB, name, fromDir string) string {
	t.Helper()
	if name == "" || strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
		t.Fatalf("gittest: invalid repository name %q", name)
	}
	bare := s.RepoPath(name)
	if _, err := os.Stat(bare); err == nil {
		t.Fatalf("gittest: repository %s already exists", name)
	}
	if err := os.MkdirAll(filepath.Dir(bare), 0o755); err != nil {
		t.Fatalf("gittest: %v", err)
	}
	s.run(t, "", "init", "--bare", "--quiet", "--initial-branch=main", bare)
	// http-backend refuses pushes by default unless told otherwise.
	s.run(t, bare, "config", "http.receivepack", "true")
	if fromDir != "" {
		s.run(t, fromDir, "push", "--quiet", bare, "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*")
		if branch, err := s.output(fromDir, "symbolic-ref", "--short", "HEAD"); err == nil {
			s.run(t, bare, "symbolic-ref", "HEAD", "refs/heads/"+branch)
		}
	}
	return s.CloneURL(name)
}

// RevParse resolves a revision (a branch, tag or SHA) in repository name,
// for example to seed a fake GitHub with the commit a branch points at.
func (s *Server) RevParse(name, rev string) (string, error) {
	out, err := s.output(s.RepoPath(name), "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("resolve %s in %s: %w", rev, name, err)
	}
	return out, nil
}

// Symlink is the content Commit stores as a symbolic link to target.
func Symlink(target string) string { return symlinkPrefix + target }

const symlinkPrefix = "\x00gittest-symlink:"

// Commit commits files onto branch of repository name directly in the bare
// repository, as if someone pushed, and returns the new commit. The branch
// is created from the default branch's head if missing. A file whose
// content is "" is deleted; one made by Symlink is a symbolic link.
func (s *Server) Commit(t testing.TB, name, branch string, files map[string]string, message string) string {
	t.Helper()
	bare := s.RepoPath(name)
	index := filepath.Join(t.TempDir(), "index")
	env := []string{"GIT_INDEX_FILE=" + index}
	parent, err := s.output(bare, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch)
	if err != nil {
		parent, _ = s.output(bare, "rev-parse", "--verify", "--quiet", "HEAD")
	}
	if parent != "" {
		s.runEnv(t, bare, env, nil, "read-tree", parent)
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	// update-index --index-info works without a work tree; mode 0 removes.
	var info strings.Builder
	for _, p := range paths {
		if files[p] == "" {
			fmt.Fprintf(&info, "0 %s\t%s\n", strings.Repeat("0", 40), p)
			continue
		}
		mode, content := "100644", files[p]
		if target, ok := strings.CutPrefix(content, symlinkPrefix); ok {
			mode, content = "120000", target
		}
		blob := s.runEnv(t, bare, env, strings.NewReader(content), "hash-object", "-w", "--stdin")
		fmt.Fprintf(&info, "%s %s\t%s\n", mode, blob, p)
	}
	s.runEnv(t, bare, env, strings.NewReader(info.String()), "update-index", "--index-info")
	tree := s.runEnv(t, bare, env, nil, "write-tree")
	args := []string{"commit-tree", tree, "-m", message}
	if parent != "" {
		args = append(args, "-p", parent)
	}
	commit := s.runEnv(t, bare, env, nil, args...)
	s.run(t, bare, "update-ref", "refs/heads/"+branch, commit)
	return commit
}

// gitEnv keeps the git processes hermetic: no system or user config, no
// prompts, a fixed identity.
func (s *Server) gitEnv() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + s.home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=gittest", "GIT_AUTHOR_EMAIL=gittest@example.invalid",
		"GIT_COMMITTER_NAME=gittest", "GIT_COMMITTER_EMAIL=gittest@example.invalid",
	}
}

func (s *Server) output(dir string, args ...string) (string, error) {
	cmd := exec.Command(s.git, args...)
	cmd.Dir = dir
	cmd.Env = s.gitEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

func (s *Server) run(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return s.runEnv(t, dir, nil, nil, args...)
}

func (s *Server) runEnv(t testing.TB, dir string, env []string, stdin io.Reader, args ...string) string {
	t.Helper()
	cmd := exec.Command(s.git, args...)
	cmd.Dir = dir
	cmd.Env = append(s.gitEnv(), env...)
	cmd.Stdin = stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gittest: git %s (in %s): %v: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out))
}

// statusRecorder remembers the status the backend wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	user, pass, _ := r.BasicAuth()
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, User: user, Service: service(r)}
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		req.Status = rec.status
		s.mu.Lock()
		s.requests = append(s.requests, req)
		s.mu.Unlock()
	}()

	if !s.authorized(user, pass) {
		// The challenge makes git ask for credentials (and, with
		// GIT_TERMINAL_PROMPT=0, fail at once) instead of retrying.
		rec.Header().Set("WWW-Authenticate", `Basic realm="gittest"`)
		http.Error(rec, "Invalid username or token. Password authentication is not supported for Git operations.",
			http.StatusUnauthorized)
		return
	}
	// net/http/cgi refuses chunked bodies, which git sends for pushes over
	// http.postBuffer (1 MiB): buffer them so large pushes work.
	if r.ContentLength < 0 || len(r.TransferEncoding) > 0 {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(rec, "read request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.TransferEncoding = nil
	}
	h := &cgi.Handler{
		Path: s.git,
		Args: []string{"http-backend"},
		Dir:  s.root,
		Env: append(s.gitEnv(),
			"GIT_PROJECT_ROOT="+s.root,
			"GIT_HTTP_EXPORT_ALL=1",
			"REMOTE_USER="+user,
		),
	}
	h.ServeHTTP(rec, r)
}

func (s *Server) authorized(user, pass string) bool {
	s.mu.Lock()
	tok, check := s.token, s.check
	s.mu.Unlock()
	if user != User || pass == "" {
		return false
	}
	if check != nil {
		return check(pass)
	}
	return tok != "" && subtle.ConstantTimeCompare([]byte(pass), []byte(tok)) == 1
}

func service(r *http.Request) string {
	if svc := r.URL.Query().Get("service"); svc != "" {
		return svc
	}
	for _, svc := range []string{"git-upload-pack", "git-receive-pack"} {
		if strings.HasSuffix(r.URL.Path, "/"+svc) {
			return svc
		}
	}
	return ""
}
