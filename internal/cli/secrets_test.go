package cli

import (
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/gittest"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// Credentials in a ConfigMap (no Secret redaction applies) are masked in
// every format of `ferry diff`, and `ferry render` hides them unless asked.
func TestDiffMasksSecretsInAnyObject(t *testing.T) {
	const (
		awsKey  = "AKIAFERRYCLIMASK7Q2X"
		ghToken = "ghp_FerryCliMaskQ9tLm2xVb7nR4kWc8zYp3sHd0" // 37 characters: one more than the rule matches
	)
	srv := gittest.NewServer(t)
	srv.CreateRepo(t, "acme/infra", testrepo.Build(t))
	head := srv.Commit(t, "acme/infra", "leak", map[string]string{
		"services/payment-service/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: payment-service-config\ndata:\n" +
			"  environment: production\n  aws_access_key_id: " + awsKey + "\n  github_token: " + ghToken + "\n",
	}, "credentials in a ConfigMap")
	repo := srv.RepoPath("acme/infra")
	for _, format := range []string{"markdown", "text", "json"} {
		t.Run(format, func(t *testing.T) {
			out, stderr, code := run(t, "diff", "--repo", repo, "--base", "main", "--head", "leak", "--repo-url", testrepo.RepoURL, "--format", format, "--color", "never", "--app", "payment-service-staging")
			if code != 1 {
				t.Errorf("exit %d, want 1; stderr: %s", code, stderr)
			}
			// The commit's id changes with the clock: the golden file names it HEAD.
			out = strings.NewReplacer(head, "HEAD", head[:12], "HEAD").Replace(out)
			if strings.Contains(out, awsKey) || strings.Contains(out, ghToken) {
				t.Errorf("a planted value is printed")
			}
			golden(t, "diff-masked."+map[string]string{"markdown": "md", "text": "txt", "json": "json"}[format], out)
		})
	}
	out, _, code := run(t, "render", "--repo", repo, "--rev", "leak", "--app", "payment-service-staging")
	if code != 0 || strings.Contains(out, awsKey) || strings.Contains(out, ghToken) || !strings.Contains(out, "AKIA… (redacted: aws-access-token)") {
		t.Errorf("ferry render (exit %d) does not mask the planted values:\n%s", code, out)
	}
	if out, _, _ := run(t, "render", "--repo", repo, "--rev", "leak", "--app", "payment-service-staging", "--show-secrets"); !strings.Contains(out, awsKey) {
		t.Errorf("ferry render --show-secrets does not print the values")
	}
}
