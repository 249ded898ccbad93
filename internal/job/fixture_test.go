package job

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/gitmirror"
	"github.com/ferry-gitops/ferry/internal/gittest"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/secrets"
	"github.com/ferry-gitops/ferry/internal/store"
	"github.com/ferry-gitops/ferry/internal/testrepo"
	"github.com/ferry-gitops/ferry/internal/work"
)

const (
	testAppID = 4242
	owner     = "skillzmist"
	repoName  = "infrastructure"
)

// fixture is what a handler reaches, for real: a fake GitHub checked
// against GitHub's REST description, a git server, a mirror directory and
// a SQLite store. Handlers are called directly with the jobs they get.
type fixture struct {
	t     *testing.T
	gh    *githubtest.Server
	git   *gittest.Server
	db    *store.DB
	repos Repos
	repo  work.Repo
	logs  *logBuffer
	log   *slog.Logger
	jobID int64
}

// newFixture serves the example repository (testrepo).
func newFixture(t *testing.T) *fixture {
	t.Helper()
	return serve(t, testrepo.Build(t), nil)
}

// newFixtureWith serves a repository of one commit on main holding files.
func newFixtureWith(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	return serve(t, "", files)
}

func serve(t *testing.T, src string, files map[string]string) *fixture {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, logs: &logBuffer{}}
	resolve := githubtest.WithRefResolver(func(_, repo, branch string) (string, error) { return f.git.RevParse(repo, branch) })
	f.gh = githubtest.New(t, githubtest.WithAppKey(testAppID, &key.PublicKey), resolve)
	f.git = gittest.NewServer(t)
	f.git.SetTokenCheck(f.gh.IsInstallationToken)
	clone := f.git.CreateRepo(t, repoName, src)
	if files != nil {
		f.git.Commit(t, repoName, "main", files, "initial")
	}
	r := f.gh.AddRepo(githubtest.Repo{Owner: owner, Name: repoName, CloneURL: clone})
	f.repo = work.Repo{InstallationID: r.InstallationID, FullName: r.FullName(), CloneURL: clone, HTMLURL: "https://github.com/" + r.FullName(), DefaultBranch: "main"}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	app, err := github.NewApp(testAppID, pemKey, f.gh.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	mirrors, err := gitmirror.New(filepath.Join(t.TempDir(), "git"))
	if err != nil {
		t.Fatal(err)
	}
	f.repos = Repos{App: app, Mirrors: mirrors}
	if f.db, err = store.Open(context.Background(), filepath.Join(t.TempDir(), "ferry.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })
	f.log = slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return f
}

// job is the queued job of spec, as a worker would claim it.
func (f *fixture) job(spec queue.Spec, err error) queue.Job {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
	f.jobID++
	return queue.Job{ID: f.jobID, Kind: spec.Kind, Key: spec.Key, Args: spec.Args, Attempts: 1}
}

// queued lists the jobs of kind waiting in the store.
func (f *fixture) queued(kind string) []store.JobRecord {
	f.t.Helper()
	jobs, err := f.db.Jobs(context.Background(), store.JobFilter{Kind: kind, State: store.StateQueued})
	if err != nil {
		f.t.Fatal(err)
	}
	return jobs
}

// head is the commit a branch of the served repository points at.
func (f *fixture) head(branch string) string {
	f.t.Helper()
	sha, err := f.git.RevParse(repoName, branch)
	if err != nil {
		f.t.Fatal(err)
	}
	return sha
}

// file is a file of the served repository at rev.
func (f *fixture) file(rev, path string) string {
	f.t.Helper()
	out, err := exec.Command("git", "-C", f.git.RepoPath(repoName), "show", rev+":"+path).Output()
	if err != nil {
		f.t.Fatalf("git show %s:%s: %v", rev, path, err)
	}
	return string(out)
}

// openPR opens a pull request from a branch of the served repository.
func (f *fixture) openPR(number int, branch string) githubtest.PullRequest {
	f.t.Helper()
	sha := f.head(branch)
	out, err := exec.Command("git", "-C", f.git.RepoPath(repoName), "update-ref", fmt.Sprintf("refs/pull/%d/head", number), sha).CombinedOutput()
	if err != nil {
		f.t.Fatalf("update-ref: %v: %s", err, out)
	}
	return f.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: number, HeadSHA: sha, HeadRef: branch, BaseRef: "main", User: "alice"})
}

// logBuffer collects a handler's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// secretRules are gitleaks' rules and the masker built from them.
func secretRules(t *testing.T) (*secrets.Rules, *secrets.Masker) {
	t.Helper()
	rules, err := secrets.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	masker, err := rules.Masker()
	if err != nil {
		t.Fatal(err)
	}
	return rules, masker
}
