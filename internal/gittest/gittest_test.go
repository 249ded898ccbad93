package gittest_test

import (
	"bytes"
	"crypto/rand"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/gittest"
)

// git runs a client-side git command the way ferry's tests should: no
// prompts, no user config.
func git(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir(), "GIT_ASKPASS=", "SSH_ASKPASS=",
		"GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.invalid",
		"GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.invalid",
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

func mustGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := git(t, dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// sourceRepo is a work tree with a commit on main and on env/staging.
func sourceRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	mustGit(t, dir, "init", "--quiet", "--initial-branch=main")
	if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte("replicas: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustGit(t, dir, "add", ".")
	mustGit(t, dir, "commit", "--quiet", "-m", "initial")
	mustGit(t, dir, "branch", "env/staging")
	return dir
}

func withCredentials(t *testing.T, cloneURL, user, pass string) string {
	t.Helper()
	u, err := url.Parse(cloneURL)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		u.User = url.UserPassword(user, pass)
	}
	return u.String()
}

func TestCloneRequiresTheToken(t *testing.T) {
	s := gittest.NewServer(t)
	s.SetToken("ghs_right")
	cloneURL := s.CreateRepo(t, "acme/app", sourceRepo(t))
	tests := []struct {
		name      string
		user      string
		pass      string
		wantClone bool
	}{
		{"right token", gittest.User, "ghs_right", true},
		{"wrong token", gittest.User, "ghs_wrong", false},
		{"wrong user", "alice", "ghs_right", false},
		{"no credentials", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.Requests())
			dst := filepath.Join(t.TempDir(), "clone")
			out, err := git(t, "", "clone", "--quiet", withCredentials(t, cloneURL, tc.user, tc.pass), dst)
			if (err == nil) != tc.wantClone {
				t.Fatalf("clone err = %v (%s), want success=%v", err, out, tc.wantClone)
			}
			// git asks anonymously first and sends the URL's credentials
			// only after a 401 challenge, as with GitHub.
			reqs := s.Requests()[before:]
			if len(reqs) == 0 || reqs[0].Service != "git-upload-pack" || reqs[0].User != "" || reqs[0].Status != 401 {
				t.Fatalf("requests = %+v, want an anonymous upload-pack request challenged first", reqs)
			}
			last := reqs[len(reqs)-1]
			if !tc.wantClone {
				if last.User != tc.user || last.Status != 401 || strings.Contains(out, "ghs_right") {
					t.Errorf("requests = %+v, output %q; want the credentials refused and no token echoed", reqs, out)
				}
				return
			}
			if last.User != tc.user || last.Status != 200 {
				t.Errorf("requests = %+v, want the clone served to %s", reqs, tc.user)
			}
			data, err := os.ReadFile(filepath.Join(dst, "app.yaml"))
			if err != nil || string(data) != "replicas: 1\n" {
				t.Errorf("cloned app.yaml = %q, %v", data, err)
			}
			if branch := mustGit(t, dst, "rev-parse", "--abbrev-ref", "HEAD"); branch != "main" {
				t.Errorf("default branch = %s, want main", branch)
			}
			if heads := mustGit(t, dst, "branch", "-r"); !strings.Contains(heads, "origin/env/staging") {
				t.Errorf("remote branches = %s, want env/staging too", heads)
			}
		})
	}
}

func TestPush(t *testing.T) {
	s := gittest.NewServer(t)
	s.SetTokenCheck(func(tok string) bool { return strings.HasPrefix(tok, "ghs_") })
	cloneURL := s.CreateRepo(t, "acme/app", sourceRepo(t))
	authURL := withCredentials(t, cloneURL, gittest.User, "ghs_minted")

	dst := filepath.Join(t.TempDir(), "clone")
	mustGit(t, "", "clone", "--quiet", authURL, dst)
	// Over http.postBuffer (1 MiB), so git sends a chunked body.
	big := make([]byte, 3<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	mustGit(t, dst, "checkout", "--quiet", "-b", "ferry/promote")
	mustGit(t, dst, "add", ".")
	mustGit(t, dst, "commit", "--quiet", "-m", "promote")
	want := mustGit(t, dst, "rev-parse", "HEAD")
	mustGit(t, dst, "push", "--quiet", "origin", "ferry/promote")

	got, err := s.RevParse("acme/app", "ferry/promote")
	if err != nil || got != want {
		t.Fatalf("RevParse = %q, %v; want the pushed %s", got, err, want)
	}
	// git probes before a chunked push, so there may be two POSTs; all
	// must succeed.
	var pushes, failed int
	for _, r := range s.Requests() {
		if r.Service == "git-receive-pack" && r.Method == "POST" {
			pushes++
			if r.Status != 200 {
				failed++
			}
		}
	}
	if pushes == 0 || failed > 0 {
		t.Errorf("requests = %+v, want successful receive-pack POSTs", s.Requests())
	}

	// A token the check rejects cannot push.
	mustGit(t, dst, "remote", "set-url", "origin", withCredentials(t, cloneURL, gittest.User, "bogus"))
	mustGit(t, dst, "commit", "--quiet", "--allow-empty", "-m", "again")
	if out, err := git(t, dst, "push", "--quiet", "origin", "ferry/promote"); err == nil {
		t.Errorf("push with a rejected token succeeded: %s", out)
	}
	if got, _ := s.RevParse("acme/app", "ferry/promote"); got != want {
		t.Errorf("branch moved to %s after a rejected push", got)
	}
}

func TestCommitAndEmptyRepo(t *testing.T) {
	s := gittest.NewServer(t)
	s.SetToken("tok")
	cloneURL := s.CreateRepo(t, "acme/empty", "")
	if _, err := os.Stat(filepath.Join(s.RepoPath("acme/empty"), "HEAD")); err != nil {
		t.Fatalf("RepoPath is not a bare repository: %v", err)
	}
	first := s.Commit(t, "acme/empty", "main", map[string]string{"apps/web.yaml": "image: web:1\n", "README.md": "hi\n"}, "add web")
	second := s.Commit(t, "acme/empty", "main", map[string]string{"apps/web.yaml": "image: web:2\n", "README.md": ""}, "bump web")
	branch := s.Commit(t, "acme/empty", "env/prod", map[string]string{"apps/api.yaml": "image: api:1\n"}, "prod only")

	tests := []struct {
		rev       string
		wantSHA   string
		wantFiles map[string]string // "" means absent
	}{
		{"main", second, map[string]string{"apps/web.yaml": "image: web:2\n", "README.md": ""}},
		{first, first, map[string]string{"apps/web.yaml": "image: web:1\n", "README.md": "hi\n"}},
		{"env/prod", branch, map[string]string{"apps/web.yaml": "image: web:2\n", "apps/api.yaml": "image: api:1\n"}},
	}
	dst := filepath.Join(t.TempDir(), "clone")
	mustGit(t, "", "clone", "--quiet", withCredentials(t, cloneURL, gittest.User, "tok"), dst)
	mustGit(t, dst, "fetch", "--quiet", "origin", "env/prod:env/prod")
	for _, tc := range tests {
		t.Run(tc.rev, func(t *testing.T) {
			if got, err := s.RevParse("acme/empty", tc.rev); err != nil || got != tc.wantSHA {
				t.Errorf("RevParse(%s) = %s, %v; want %s", tc.rev, got, err, tc.wantSHA)
			}
			for path, want := range tc.wantFiles {
				got, err := git(t, dst, "show", tc.wantSHA+":"+path)
				if want == "" {
					if err == nil {
						t.Errorf("%s exists at %s, want it deleted", path, tc.rev)
					}
					continue
				}
				if err != nil || got+"\n" != want {
					t.Errorf("%s at %s = %q, %v; want %q", path, tc.rev, got, err, want)
				}
			}
		})
	}
	if _, err := s.RevParse("acme/empty", "no-such-branch"); err == nil {
		t.Errorf("RevParse of a missing branch succeeded")
	}
}
