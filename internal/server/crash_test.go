package server

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// TestAcceptedWorkSurvivesKill runs the real ferry binary, kills it with
// SIGKILL right after it accepted a delivery (while the job is stuck on a
// GitHub that never answers), restarts it, and expects the comment.
func TestAcceptedWorkSurvivesKill(t *testing.T) {
	h := newHarness(t)
	h.stop()
	h.stop = nil
	bin := buildFerry(t)

	// A GitHub that accepts connections and never answers: the job hangs.
	black, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer black.Close()
	go func() {
		for {
			c, err := black.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()

	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, h.key, 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	first := startFerry(t, bin, "http://"+black.Addr().String()+"/", keyFile, dataDir)

	pr := h.openPR(1, testrepo.Branch("image-bump-production"))
	body := githubtest.PullRequestPayload(t, "opened", h.repo, pr)
	resp := githubtest.Deliver(t, first.url+"/webhook", testSecret, "pull_request", body, "crash-delivery")
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	if n := len(h.gh.Comments(owner, repoName, 1)); n != 0 {
		t.Fatalf("%d comments before restart; the first process was meant to be stuck", n)
	}

	second := startFerry(t, bin, h.gh.URL(), keyFile, dataDir)
	defer second.stop()
	h.url = second.url
	h.waitFor("the comment after restart", func() bool { return h.completedCheck(pr.HeadSHA) != nil })
	if n := len(h.gh.Comments(owner, repoName, 1)); n != 1 {
		t.Errorf("%d comments after restart, want 1", n)
	}
	// The same delivery again (GitHub's redelivery): acknowledged, not redone.
	resp = githubtest.Deliver(t, second.url+"/webhook", testSecret, "pull_request", body, "crash-delivery")
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("redelivery status %d", resp.StatusCode)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(h.gh.CallsTo("checks/create")); n != 2 {
		t.Errorf("%d check runs created, want 2 (ferry/diff and ferry/policy, once each)", n)
	}
}

type ferryProcess struct {
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
	stop func()
}

func buildFerry(t testing.TB) string {
	t.Helper()
	root, err := testrepo.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "ferry")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/ferry")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startFerry runs `ferry serve` from bin against apiURL, with env added to
// its environment, and waits until it is ready.
func startFerry(t testing.TB, bin, apiURL, keyFile, dataDir string, env ...string) *ferryProcess {
	t.Helper()
	return startFerryArgs(t, bin, apiURL, keyFile, dataDir, nil, env...)
}

// startFerryArgs is startFerry with more arguments to `ferry serve`.
func startFerryArgs(t testing.TB, bin, apiURL, keyFile, dataDir string, args []string, env ...string) *ferryProcess {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(),
		"FERRY_LISTEN="+addr,
		"FERRY_GITHUB_API_URL="+apiURL,
		"FERRY_APP_ID="+strconv.Itoa(testAppID),
		"FERRY_PRIVATE_KEY_FILE="+keyFile,
		"FERRY_WEBHOOK_SECRET="+testSecret,
		"FERRY_DATA_DIR="+dataDir,
	)
	cmd.Env = append(cmd.Env, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.Write([]byte(sc.Text() + "\n"))
		}
	}()
	p := &ferryProcess{cmd: cmd, url: "http://" + addr, logs: logs}
	p.stop = func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if ctx.Err() != nil {
			p.stop()
			t.Fatalf("ferry did not become ready:\n%s", logs.String())
		}
		if cmd.ProcessState != nil || strings.Contains(logs.String(), "ferry: ") {
			t.Fatalf("ferry exited:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
