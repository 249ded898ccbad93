package githubtest_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v60/github"

	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/gittest"
)

// TestWithGitServer wires the fake GitHub to a gittest server the way an
// end-to-end test does: git accepts the installation tokens the fake mints,
// and the fake resolves branches pushed to git.
func TestWithGitServer(t *testing.T) {
	ctx := context.Background()
	git := gittest.NewServer(t)
	gh := githubtest.New(t, githubtest.WithRefResolver(func(owner, repo, branch string) (string, error) {
		return git.RevParse(owner+"/"+repo, branch)
	}))
	git.SetTokenCheck(gh.IsInstallationToken)
	cloneURL := git.CreateRepo(t, "acme/app", "")
	git.Commit(t, "acme/app", "main", map[string]string{"apps/web.yaml": "image: web:1\n"}, "initial")
	head := git.Commit(t, "acme/app", "ferry/promote-prod", map[string]string{"apps/web.yaml": "image: web:2\n"}, "promote")
	gh.AddRepo(githubtest.Repo{Owner: "acme", Name: "app", CloneURL: cloneURL})

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := ghinstallation.New(http.DefaultTransport, 1, githubtest.DefaultInstallationID,
		pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	if err != nil {
		t.Fatal(err)
	}
	tr.BaseURL = strings.TrimSuffix(gh.URL(), "/")
	client := github.NewClient(&http.Client{Transport: tr})
	client.BaseURL, _ = url.Parse(gh.URL())

	pr, _, err := client.PullRequests.Create(ctx, "acme", "app", &github.NewPullRequest{
		Title: github.String("Promote web to prod"), Head: github.String("ferry/promote-prod"), Base: github.String("main"),
	})
	if err != nil || pr.GetHead().GetSHA() != head {
		t.Fatalf("pulls/create = head %s, %v; want the pushed %s", pr.GetHead().GetSHA(), err, head)
	}

	tok, err := tr.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(cloneURL)
	u.User = url.UserPassword(gittest.User, tok)
	dst := filepath.Join(t.TempDir(), "clone")
	cmd := exec.Command("git", "clone", "--quiet", "--branch", "ferry/promote-prod", u.String(), dst)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clone with the installation token: %v\n%s", err, out)
	}
	if data, err := os.ReadFile(filepath.Join(dst, "apps", "web.yaml")); err != nil || string(data) != "image: web:2\n" {
		t.Errorf("cloned apps/web.yaml = %q, %v", data, err)
	}
}
