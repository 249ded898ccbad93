package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/mdtest"
	"github.com/ferry-gitops/ferry/internal/policy"
	"github.com/ferry-gitops/ferry/internal/secrets"
)

var (
	okDecision = &policy.Decision{Allowed: true, Status: []policy.EnvironmentStatus{
		{Environment: "staging", Needed: 0, Missing: 0},
		{Environment: "prod", Needed: 2, Teams: []string{"acme/sre", "acme/platform"}, Have: []string{"alice", "bob"}},
	}, Summary: "All policies pass."}
	blockedDecision = &policy.Decision{Summary: "blocked by secrets"}
	blockedFindings = []secrets.Finding{
		{RuleID: "aws-access-key", File: "apps/a.yaml", Line: 7, Fingerprint: "fp1"},
		{RuleID: "github-pat", File: "apps/kustomization.yaml", Line: 12, Resource: "v1/Secret/prod/x", Source: "rendered:prod", Fingerprint: "fp2"},
		{RuleID: secrets.RuleIncomplete, Description: "the scan stopped after 10000 lines", File: "apps/huge.yaml", Fingerprint: "fp3"},
		{RuleID: "github-pat", Resource: "v1/Secret/prod/y", Source: "rendered:prod", Fingerprint: "fp4"},
	}
)

func TestPolicyPosts(t *testing.T) {
	var many []secrets.Finding
	for i := 0; i < 23; i++ {
		many = append(many, secrets.Finding{RuleID: "generic-api-key", File: fmt.Sprintf("apps/f%02d.yaml", i), Line: i + 1, Fingerprint: fmt.Sprintf("fp%02d", i)})
	}
	checkPosts(t, []post{
		{
			name: "policy",
			md: Policy(&policy.Decision{Status: []policy.EnvironmentStatus{{Environment: evilName, Needed: 2, Teams: []string{"org/sre|x"}, Have: []string{"alice", "not a login`"}, Missing: 1}},
				Summary: "denied: " + evilReason + "\n" + evilName + " needs 1 more approval; @bob's approval doesn't count (author)"},
				[]secrets.Finding{
					{RuleID: "aws`x", File: "a/`b`.yaml", Line: 3, Fingerprint: "fp@org/team"},
					{RuleID: "github-pat", Resource: evilObject, Source: "rendered:" + evilName, Fingerprint: "f2"},
				}),
			// Approvers are GitHub logins: they are mentioned, nobody else.
			allow: mdtest.Allow{Headings: []string{"Policy: ❌ blocked"}, Mentions: []string{"@alice"}},
			// The summary keeps its lines, each one plain text.
			shows: []string{evilName, "not a login`", "#### Policy: ✅ ready to merge", "@org/team fixes #12 [ok](https://evil.example)", "@bob's approval", "a/`b`.yaml:3", evilObject},
		},
		{
			name:  "policy-allowed",
			md:    Policy(okDecision, nil),
			allow: mdtest.Allow{Headings: []string{"Policy: ✅ ready to merge"}, Mentions: []string{"@alice", "@bob"}},
		},
		{
			// Twenty findings are listed, the rest counted; blank summary
			// lines are dropped.
			name:  "policy-many-findings",
			md:    Policy(&policy.Decision{Summary: "23 secrets found\n\n  \nremove them"}, many),
			allow: mdtest.Allow{Headings: []string{"Policy: ❌ blocked"}},
			shows: []string{"apps/f19.yaml:20", "… and 3 more"},
		},
	})
}

// checkText dumps a check run's conclusion and output for a golden file.
func checkText(conclusion string, out github.CheckOutput) string {
	var b strings.Builder
	fmt.Fprintf(&b, "conclusion: %s\ntitle: %s\n", conclusion, out.Title)
	for _, a := range out.Annotations {
		fmt.Fprintf(&b, "annotation: %s:%d-%d %s %q %q\n", a.Path, a.StartLine, a.EndLine, a.Level, a.Title, a.Message)
	}
	b.WriteString("summary:\n" + out.Summary)
	return b.String()
}

// TestPolicyCheck: the check run's summary is the policy markdown; each
// finding in a file is annotated there (a rendered one on line 1), with
// how to resolve it.
func TestPolicyCheck(t *testing.T) {
	tests := []struct {
		name     string
		decision *policy.Decision
		findings []secrets.Finding
	}{
		{"policy-check-blocked", blockedDecision, blockedFindings},
		{"policy-check-ready", okDecision, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conclusion, out := PolicyCheck(tt.decision, tt.findings, nil)
			if out.Summary != Policy(tt.decision, tt.findings) {
				t.Errorf("summary is not the policy markdown:\n%s", out.Summary)
			}
			mdtest.Golden(t, tt.name+".md.golden", []byte(checkText(conclusion, out)), *update)
		})
	}
}
