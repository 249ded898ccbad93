package server

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/gittest"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

const (
	testAppID  = 4242
	testSecret = "e2e-webhook-secret"
	owner      = "skillzmist"
	repoName   = "infrastructure"
)

// harness is a real ferry server wired to a fake GitHub and a real git server.
type harness struct {
	t    testing.TB
	gh   *githubtest.Server
	git  *gittest.Server
	repo githubtest.Repo
	key  []byte
	url  string
	dir  string
	logs *syncBuffer
	stop func()
	// configure adjusts the server's configuration before it starts.
	configure func(*Config)
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	return newHarnessWith(t, testrepo.Build(t), nil)
}

// newHarnessWith serves the repository at src and lets the test adjust the
// server's configuration.
func newHarnessWith(t testing.TB, src string, configure func(*Config)) *harness {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	h := &harness{t: t, key: pemKey, dir: t.TempDir(), logs: &syncBuffer{}, configure: configure}
	// Branches ferry pushes (revert branches) resolve in the git server.
	resolve := githubtest.WithRefResolver(func(_, repo, branch string) (string, error) { return h.git.RevParse(repo, branch) })
	h.gh = githubtest.New(t, githubtest.WithAppKey(testAppID, &key.PublicKey), resolve)
	h.git = gittest.NewServer(t)
	h.git.SetTokenCheck(h.gh.IsInstallationToken)
	clone := h.git.CreateRepo(t, repoName, src)
	h.repo = h.gh.AddRepo(githubtest.Repo{Owner: owner, Name: repoName, CloneURL: clone})
	h.start()
	return h
}

func (h *harness) start() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := Config{
		GitHubAPIURL: h.gh.URL(), AppID: testAppID, PrivateKey: h.key,
		WebhookSecret: []byte(testSecret), DataDir: h.dir, Workers: 2,
	}
	if h.configure != nil {
		h.configure(&cfg)
	}
	srv, err := New(ctx, cfg, log)
	if err != nil {
		h.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	h.url = "http://" + ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	h.stop = func() {
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("server: %v", err)
		}
	}
	h.t.Cleanup(func() {
		if h.stop != nil {
			h.stop()
			h.stop = nil
		}
	})
}

// openPR points refs/pull/N/head at a scenario branch and registers the PR.
func (h *harness) openPR(number int, branch string) githubtest.PullRequest {
	h.t.Helper()
	sha, err := h.git.RevParse(repoName, branch)
	if err != nil {
		h.t.Fatal(err)
	}
	h.setPullRef(number, sha)
	return h.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: number, HeadSHA: sha, HeadRef: branch, BaseRef: "main", User: "alice"})
}

func (h *harness) setPullRef(number int, sha string) {
	h.t.Helper()
	out, err := exec.Command("git", "-C", h.git.RepoPath(repoName), "update-ref", fmt.Sprintf("refs/pull/%d/head", number), sha).CombinedOutput()
	if err != nil {
		h.t.Fatalf("update-ref: %v: %s", err, out)
	}
}

func (h *harness) deliver(event, action string, pr githubtest.PullRequest, delivery string) int {
	h.t.Helper()
	body := githubtest.PullRequestPayload(h.t, action, h.repo, pr)
	resp := githubtest.Deliver(h.t, h.url+"/webhook", testSecret, event, body, delivery)
	return resp.StatusCode
}

// waitFor polls until cond holds; the deadline is generous because this is
// about eventually, not about speed (speed is in the benchmarks).
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s; server log:\n%s", what, h.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) completedCheck(sha string) *githubtest.CheckRun {
	for _, c := range h.gh.CheckRuns(owner, repoName, sha) {
		if c.Name == "ferry/diff" && c.Status == "completed" {
			return &c
		}
	}
	return nil
}

func TestPullRequestOpenedAndSynchronized(t *testing.T) {
	h := newHarness(t)
	pr := h.openPR(1, testrepo.Branch("image-bump-production"))
	if code := h.deliver("pull_request", "opened", pr, "delivery-1"); code != http.StatusAccepted {
		t.Fatalf("opened: status %d", code)
	}
	h.waitFor("the check run on the first head", func() bool { return h.completedCheck(pr.HeadSHA) != nil })
	comments := h.gh.Comments(owner, repoName, 1)
	if len(comments) != 1 {
		t.Fatalf("%d comments, want 1", len(comments))
	}
	first := comments[0]
	for _, want := range []string{"payment-service-production", "image: payment-service:v2.5.0", pr.HeadSHA[:12]} {
		if !strings.Contains(first.Body, want) {
			t.Errorf("comment lacks %q:\n%s", want, first.Body)
		}
	}
	if c := h.completedCheck(pr.HeadSHA); c.Conclusion != "success" {
		t.Errorf("check conclusion %q, want success", c.Conclusion)
	}

	// A new push: the same comment is edited, and a new check lands on the new head.
	sha2, err := h.git.RevParse(repoName, testrepo.Branch("base-change"))
	if err != nil {
		t.Fatal(err)
	}
	h.setPullRef(1, sha2)
	pr.BeforeSHA, pr.HeadSHA = pr.HeadSHA, sha2
	if code := h.deliver("pull_request", "synchronize", pr, "delivery-2"); code != http.StatusAccepted {
		t.Fatalf("synchronize: status %d", code)
	}
	h.waitFor("the check run on the second head", func() bool { return h.completedCheck(sha2) != nil })
	comments = h.gh.Comments(owner, repoName, 1)
	if len(comments) != 1 || comments[0].ID != first.ID {
		t.Fatalf("after synchronize: %d comments (first id %d), want the same single comment", len(comments), first.ID)
	}
	if !strings.Contains(comments[0].Body, sha2[:12]) || !strings.Contains(comments[0].Body, "payment-service-staging") {
		t.Errorf("edited comment does not reflect the new head:\n%s", comments[0].Body)
	}
	if n := len(h.gh.CallsTo("issues/create-comment")); n != 1 {
		t.Errorf("%d create-comment calls, want 1", n)
	}
}

func TestBadSignatureChangesNothing(t *testing.T) {
	h := newHarness(t)
	pr := h.openPR(1, testrepo.Branch("image-bump-production"))
	body := githubtest.PullRequestPayload(t, "opened", h.repo, pr)
	for name, sig := range map[string]string{
		"wrong secret": githubtest.Sign([]byte("not-the-secret"), body),
		"missing":      "",
		"garbage":      "sha256=zz",
	} {
		req, _ := http.NewRequest(http.MethodPost, h.url+"/webhook", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", "bad-"+name)
		if sig != "" {
			req.Header.Set("X-Hub-Signature-256", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s signature: status %d, want 401", name, resp.StatusCode)
		}
	}
	// Give a wrongly accepted delivery every chance to reach GitHub.
	time.Sleep(300 * time.Millisecond)
	h.stop()
	h.stop = nil
	if calls := h.gh.Calls(); len(calls) != 0 {
		t.Errorf("bad signatures caused %d GitHub calls, want none: first %s %s", len(calls), calls[0].Method, calls[0].Path)
	}
}

func TestSameDeliveryThreeTimesAtOnce(t *testing.T) {
	h := newHarness(t)
	pr := h.openPR(1, testrepo.Branch("image-bump-production"))
	var wg sync.WaitGroup
	codes := make([]int, 3)
	for i := range codes {
		wg.Add(1)
		go func() { defer wg.Done(); codes[i] = h.deliver("pull_request", "opened", pr, "same-delivery") }()
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusAccepted {
			t.Errorf("delivery %d: status %d", i, c)
		}
	}
	h.waitFor("the check run", func() bool { return h.completedCheck(pr.HeadSHA) != nil })
	h.stop()
	h.stop = nil
	if n := len(h.gh.Comments(owner, repoName, 1)); n != 1 {
		t.Errorf("%d comments, want 1", n)
	}
	if n := len(h.gh.CheckRuns(owner, repoName, pr.HeadSHA)); n != 2 {
		t.Errorf("%d check runs on the head, want 2 (ferry/diff and ferry/policy)", n)
	}
}

func TestGitHub500ThenCreated(t *testing.T) {
	h := newHarness(t)
	h.gh.FailNext("issues/create-comment", http.StatusInternalServerError, 1, nil)
	pr := h.openPR(1, testrepo.Branch("image-bump-production"))
	h.deliver("pull_request", "opened", pr, "d-500")
	h.waitFor("the check run", func() bool { return h.completedCheck(pr.HeadSHA) != nil })
	if n := len(h.gh.Comments(owner, repoName, 1)); n != 1 {
		t.Errorf("%d comments, want exactly 1", n)
	}
	if n := len(h.gh.CallsTo("issues/create-comment")); n != 2 {
		t.Errorf("%d create-comment calls, want 2 (one 500, one 201)", n)
	}
}

func TestRenderFailureAnnotatesAndOthersStillShow(t *testing.T) {
	h := newHarness(t)
	pr := h.openPR(3, testrepo.Branch("broken-kustomization"))
	h.deliver("pull_request", "opened", pr, "d-broken")
	h.waitFor("the check run", func() bool { return h.completedCheck(pr.HeadSHA) != nil })
	c := h.completedCheck(pr.HeadSHA)
	if c.Conclusion != "failure" {
		t.Errorf("conclusion %q, want failure", c.Conclusion)
	}
	found := false
	for _, a := range c.Annotations {
		if a.Path == "overlays/staging/kustomization.yaml" && a.StartLine > 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("no annotation on overlays/staging/kustomization.yaml: %+v", c.Annotations)
	}
	body := h.gh.Comments(owner, repoName, 3)[0].Body
	for _, want := range []string{"payment-service-staging", "payment-service-production", "overlays/staging/kustomization.yaml"} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q", want)
		}
	}
}

func TestHugeDiffStaysUnderCommentLimit(t *testing.T) {
	h := newHarness(t)
	// 2,000 ConfigMap keys of 100 characters: a diff of ~200k characters.
	var cm strings.Builder
	cm.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: huge\ndata:\n")
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&cm, "  key-%04d: %s\n", i, strings.Repeat("x", 90))
	}
	kust := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nbases:\n  - ../../services/payment-service\nresources:\n  - huge.yaml\n"
	sha := h.git.Commit(t, repoName, "huge", map[string]string{
		"overlays/production/huge.yaml":          cm.String(),
		"overlays/production/kustomization.yaml": kust,
	}, "a huge ConfigMap")
	h.setPullRef(4, sha)
	pr := h.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: 4, HeadSHA: sha, HeadRef: "huge", BaseRef: "main"})
	h.deliver("pull_request", "opened", pr, "d-huge")
	h.waitFor("the check run", func() bool { return h.completedCheck(sha) != nil })
	comments := h.gh.Comments(owner, repoName, 4)
	if len(comments) != 1 {
		t.Fatalf("%d comments, want 1", len(comments))
	}
	body := comments[0].Body
	if len(body) > 65536 {
		t.Errorf("comment is %d characters, over GitHub's limit", len(body))
	}
	if strings.Count(body, "<details") != strings.Count(body, "</details>") || strings.Count(body, "```")%2 != 0 {
		t.Errorf("comment has unbalanced blocks")
	}
	if !strings.Contains(body, "ferry/diff") {
		t.Errorf("truncated comment does not point at the check run")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
