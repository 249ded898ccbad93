package policy

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/config"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/secrets"
	"github.com/ferry-gitops/ferry/internal/testrepo"
	"github.com/ferry-gitops/ferry/policies"
)

func newEngine(t testing.TB, repo map[string]string) *Engine {
	t.Helper()
	var tree *repofs.Tree
	if repo != nil {
		tree = testrepo.Tree(t, repo)
	}
	e, err := NewEngine(context.Background(), policies.Defaults(), tree)
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	return e
}

var (
	production = Environment{Name: "production", Namespace: "payments", Cluster: "prod-eu", Status: "changed", Changed: 1,
		Kinds: Kinds{Changed: []string{"Deployment"}}}
	staging = Environment{Name: "staging", Namespace: "payments-staging", Cluster: "staging", Status: "changed", Changed: 1}
)

func review(user, state, perm string, onHead bool, teams ...string) Review {
	return Review{User: user, State: state, Permission: perm, OnHead: onHead, Teams: teams,
		SubmittedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func pr(envs []Environment, reviews ...Review) Input {
	return Input{
		PullRequest: PullRequest{Number: 42, Author: "alice", AuthorPermission: "write",
			Base: Ref{Ref: "main", SHA: "b"}, Head: Ref{Ref: "bump", SHA: "h"}},
		Reviews:      reviews,
		ChangedFiles: []string{"apps/payments/prod/values.yaml"},
		Environments: envs,
	}
}

func TestEvaluateDefaults(t *testing.T) {
	prodOnly := []Environment{production}
	tests := []struct {
		name        string
		in          Input
		wantAllowed bool
		wantStatus  []EnvironmentStatus // compared when not nil
		wantSummary []string            // each must appear in the summary
		wantDeny    []string
	}{
		{
			name:        "production with no approval",
			in:          pr(prodOnly),
			wantStatus:  []EnvironmentStatus{{Environment: "production", Needed: 2, Have: []string{}, Missing: 2}},
			wantSummary: []string{"production needs 2 more approvals from a user with write access"},
		},
		{
			name:        "production with one approval",
			in:          pr(prodOnly, review("bob", Approved, "write", true)),
			wantStatus:  []EnvironmentStatus{{Environment: "production", Needed: 2, Have: []string{"bob"}, Missing: 1}},
			wantSummary: []string{"production needs 1 more approval from a user with write access (has 1 of 2)"},
		},
		{
			name:        "production with two approvals",
			in:          pr(prodOnly, review("bob", Approved, "write", true), review("carol", Approved, "admin", true)),
			wantAllowed: true,
			wantStatus:  []EnvironmentStatus{{Environment: "production", Needed: 2, Have: []string{"bob", "carol"}, Missing: 0}},
			wantSummary: []string{"allowed: production has 2 of 2 approvals"},
		},
		{
			name: "an approval before the latest push is stale",
			in:   pr(prodOnly, review("bob", Approved, "write", true), review("x", Approved, "maintain", false)),
			wantStatus: []EnvironmentStatus{{Environment: "production", Needed: 2, Have: []string{"bob"}, Missing: 1,
				Stale: []string{"x"}}},
			wantSummary: []string{"production needs 1 more approval from a user with write access (has 1 of 2); stale approval from @x doesn't count (given before the latest push)"},
		},
		{
			name: "the author's own approval does not count",
			in:   pr(prodOnly, review("Alice", Approved, "admin", true), review("bob", Approved, "write", true)),
			wantStatus: []EnvironmentStatus{{Environment: "production", Needed: 2, Have: []string{"bob"}, Missing: 1,
				Ignored: []IgnoredApproval{{User: "Alice", Reason: IgnoredAuthor}}}},
			wantSummary: []string{"@Alice's own approval doesn't count (author)"},
		},
		{
			name: "an approval without write access does not count",
			in:   pr(prodOnly, review("bob", Approved, "write", true), review("rita", Approved, "read", true), review("tom", Approved, "triage", true)),
			wantStatus: []EnvironmentStatus{{Environment: "production", Needed: 2, Have: []string{"bob"}, Missing: 1,
				Ignored: []IgnoredApproval{{User: "rita", Reason: IgnoredPermission, Permission: "read"}, {User: "tom", Reason: IgnoredPermission, Permission: "triage"}}}},
			wantSummary: []string{"@rita's approval doesn't count (read access, write needed)"},
		},
		{
			name:       "comments and change requests are not approvals",
			in:         pr(prodOnly, review("bob", Commented, "write", true), review("carol", ChangesRequested, "write", true), review("dan", Dismissed, "write", true)),
			wantStatus: []EnvironmentStatus{{Environment: "production", Needed: 2, Have: []string{}, Missing: 2}},
		},
		{
			name: "a later comment keeps an approval, a later change request replaces it",
			in: func() Input {
				in := pr(prodOnly, review("bob", Approved, "write", true), review("carol", Approved, "write", true))
				later := review("bob", Commented, "write", true)
				later.SubmittedAt = later.SubmittedAt.Add(time.Hour)
				changes := review("carol", ChangesRequested, "write", true)
				changes.SubmittedAt = changes.SubmittedAt.Add(time.Hour)
				in.Reviews = append(in.Reviews, later, changes)
				return in
			}(),
			wantStatus: []EnvironmentStatus{{Environment: "production", Needed: 2, Have: []string{"bob"}, Missing: 1}},
		},
		{
			name: "team requirement from .ferry.yaml",
			in: func() Input {
				in := pr(prodOnly, review("bob", Approved, "write", true, "dev"), review("dave", Approved, "write", true, "SRE"))
				in.Config = Config{Approvals: []ApprovalRule{{Match: "prod", Count: 2, Teams: []string{"sre", "platform"}}}}
				return in
			}(),
			wantStatus: []EnvironmentStatus{{Environment: "production", Needed: 2, Teams: []string{"platform", "sre"}, Have: []string{"dave"}, Missing: 1,
				Ignored: []IgnoredApproval{{User: "bob", Reason: IgnoredTeam}}}},
			wantSummary: []string{
				"production needs 1 more approval from a member of team platform or sre with write access (has 1 of 2)",
				"@bob's approval doesn't count (not in team platform or sre)",
			},
		},
		{
			name:        "staging needs none",
			in:          pr([]Environment{staging}),
			wantAllowed: true,
			wantStatus:  []EnvironmentStatus{},
			wantSummary: []string{"allowed: no approvals needed"},
		},
		{
			name:        "a namespace that matches counts as production",
			in:          pr([]Environment{{Name: "payments-eu", Namespace: "prod-eu"}}),
			wantStatus:  []EnvironmentStatus{{Environment: "payments-eu", Needed: 2, Have: []string{}, Missing: 2}},
			wantSummary: []string{"payments-eu needs 2 more approvals"},
		},
		{
			name: "first matching rule from .ferry.yaml wins",
			in: func() Input {
				in := pr([]Environment{production, staging}, review("bob", Approved, "write", true))
				in.Config = Config{Approvals: []ApprovalRule{{Match: "^staging$", Count: 1}, {Match: "^prod", Count: 3}, {Match: ".", Count: 5}}}
				return in
			}(),
			wantStatus: []EnvironmentStatus{
				{Environment: "production", Needed: 3, Have: []string{"bob"}, Missing: 2},
				{Environment: "staging", Needed: 1, Have: []string{"bob"}, Missing: 0},
			},
		},
		{
			name: "an empty approvals list in .ferry.yaml requires nothing",
			in: func() Input {
				in := pr(prodOnly)
				in.Config = Config{Approvals: []ApprovalRule{}}
				return in
			}(),
			wantAllowed: true,
			wantStatus:  []EnvironmentStatus{},
		},
		{
			name: "a secret on an added line is denied, with no value in the message",
			in: func() Input {
				in := pr([]Environment{staging})
				in.SecretFindings = []SecretFinding{{Rule: "github-pat", File: "ci/env.sh", Line: 3}}
				return in
			}(),
			wantDeny:    []string{"secret found: github-pat in ci/env.sh:3"},
			wantSummary: []string{"denied: secret found: github-pat in ci/env.sh:3"},
		},
		{
			name: "a secret in a render is denied for its environment",
			in: func() Input {
				env := staging
				env.SecretFindings = []SecretFinding{
					{Rule: "kubernetes-secret-in-git", File: "apps/db/secret.yaml", Line: 3, Resource: "Secret/db"},
					{Rule: "aws-access-token", Line: 7, Resource: "ConfigMap/c"},
				}
				return pr([]Environment{env})
			}(),
			wantDeny: []string{
				"secret found: aws-access-token in ConfigMap/c line 7 (rendered for staging)",
				"secret found: kubernetes-secret-in-git in apps/db/secret.yaml:3 (Secret/db) (rendered for staging)",
			},
		},
	}
	e := newEngine(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := e.Evaluate(context.Background(), tt.in)
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if d.Allowed != tt.wantAllowed {
				t.Errorf("Allowed = %v, want %v; summary:\n%s", d.Allowed, tt.wantAllowed, d.Summary)
			}
			if tt.wantStatus != nil && !reflect.DeepEqual(d.Status, tt.wantStatus) {
				t.Errorf("Status =\n%+v\nwant\n%+v", d.Status, tt.wantStatus)
			}
			for _, s := range tt.wantSummary {
				if !strings.Contains(d.Summary, s) {
					t.Errorf("summary %q does not contain %q", d.Summary, s)
				}
			}
			if tt.wantDeny == nil {
				tt.wantDeny = []string{}
			}
			if !reflect.DeepEqual(d.Deny, tt.wantDeny) {
				t.Errorf("Deny = %q, want %q", d.Deny, tt.wantDeny)
			}
		})
	}
}

const (
	// extendPolicy adds a reason to refuse: CRDs change only with a label.
	extendPolicy = `package ferry.policy

deny contains msg if {
	some env in input.environments
	"CustomResourceDefinition" in env.kinds.changed
	not "crd-reviewed" in input.pull_request.labels
	msg := sprintf("%s changes a CustomResourceDefinition; label the pull request crd-reviewed", [env.name])
}
`
	// overridePolicy makes production need 3 approvals from sre.
	overridePolicy = `package ferry.policy

approvals contains {"environment": env.name, "count": 3, "teams": ["sre"]} if {
	some env in input.environments
	env.name == "production"
}
`
	// allowAllPolicy is what a pull request would add to approve itself.
	allowAllPolicy = `package ferry.policy

approvals contains {"environment": env.name, "count": 0} if {
	some env in input.environments
}
`
)

func TestRepoPolicies(t *testing.T) {
	crd := production
	crd.Kinds = Kinds{Changed: []string{"CustomResourceDefinition", "Deployment"}}
	threeSRE := []Review{
		review("bob", Approved, "write", true, "sre"),
		review("carol", Approved, "write", true, "sre"),
		review("dave", Approved, "write", true, "sre"),
	}
	tests := []struct {
		name         string
		repo         map[string]string
		in           Input
		wantAllowed  bool
		wantDeny     []string
		wantRequired []Requirement
	}{
		{
			name:         "a repository policy adds a deny",
			repo:         map[string]string{".ferry/policies/crd.rego": extendPolicy},
			in:           pr([]Environment{crd}, threeSRE...),
			wantDeny:     []string{"production changes a CustomResourceDefinition; label the pull request crd-reviewed"},
			wantRequired: []Requirement{{Environment: "production", Count: 2}},
		},
		{
			name: "the defaults' denies stay when a repository adds its own",
			repo: map[string]string{".ferry/policies/crd.rego": extendPolicy},
			in: func() Input {
				in := pr([]Environment{crd}, threeSRE...)
				in.SecretFindings = []SecretFinding{{Rule: "private-key", File: "id_rsa", Line: 1}}
				return in
			}(),
			wantDeny: []string{
				"production changes a CustomResourceDefinition; label the pull request crd-reviewed",
				"secret found: private-key in id_rsa:1",
			},
			wantRequired: []Requirement{{Environment: "production", Count: 2}},
		},
		{
			name: "a repository policy overrides production's requirement",
			repo: map[string]string{".ferry/policies/approvals.rego": overridePolicy},
			in:   pr([]Environment{production, staging}, threeSRE[:2]...),
			// Two of three: not allowed.
			wantRequired: []Requirement{{Environment: "production", Count: 3, Teams: []string{"sre"}}},
		},
		{
			name:         "and three sre approvals satisfy it",
			repo:         map[string]string{".ferry/policies/approvals.rego": overridePolicy},
			in:           pr([]Environment{production, staging}, threeSRE...),
			wantAllowed:  true,
			wantRequired: []Requirement{{Environment: "production", Count: 3, Teams: []string{"sre"}}},
		},
		{
			name: "several policy files and a test file",
			repo: map[string]string{
				".ferry/policies/crd.rego":            extendPolicy,
				".ferry/policies/approvals.rego":      overridePolicy,
				".ferry/policies/approvals_test.rego": "package ferry.policy\n\ntest_x if { false }\nthis does not parse",
				".ferry/policies/README.md":           "not rego",
			},
			in:           pr([]Environment{crd}, threeSRE...),
			wantDeny:     []string{"production changes a CustomResourceDefinition; label the pull request crd-reviewed"},
			wantRequired: []Requirement{{Environment: "production", Count: 3, Teams: []string{"sre"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, tt.repo)
			d, err := e.Evaluate(context.Background(), tt.in)
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if tt.wantDeny == nil {
				tt.wantDeny = []string{}
			}
			if !reflect.DeepEqual(d.Deny, tt.wantDeny) {
				t.Errorf("Deny = %q, want %q", d.Deny, tt.wantDeny)
			}
			if !reflect.DeepEqual(d.Requirements, tt.wantRequired) {
				t.Errorf("Requirements = %+v, want %+v", d.Requirements, tt.wantRequired)
			}
			if d.Allowed != tt.wantAllowed {
				t.Errorf("Allowed = %v, want %v; summary:\n%s", d.Allowed, tt.wantAllowed, d.Summary)
			}
		})
	}
}

// TestHeadCannotApproveItself: a pull request adds a policy that waives
// every approval. Built from the base tree, as ferry does, the engine
// still wants two approvals for production; built from the head it would
// not, which is why the head is never used.
func TestHeadCannotApproveItself(t *testing.T) {
	base := map[string]string{
		".ferry.yaml":              "diff: {}\n",
		".ferry/policies/crd.rego": extendPolicy,
	}
	head := map[string]string{
		".ferry.yaml":              "diff: {}\n",
		".ferry/policies/crd.rego": extendPolicy,
		".ferry/policies/yolo.rego": allowAllPolicy + `
deny := set()
`,
	}
	in := pr([]Environment{production})
	in.ChangedFiles = []string{".ferry/policies/yolo.rego"}

	fromBase, err := newEngine(t, base).Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if fromBase.Allowed || !strings.Contains(fromBase.Summary, "production needs 2 more approvals") {
		t.Errorf("engine from the base tree: allowed=%v, summary %q; want production to need 2 approvals", fromBase.Allowed, fromBase.Summary)
	}

	// The head's policy redefines deny as a complete rule next to the
	// partial set in crd.rego, which OPA refuses to compile: fail closed.
	if _, err := NewEngine(context.Background(), policies.Defaults(), testrepo.Tree(t, head)); err == nil {
		t.Error("the head's conflicting policy compiled")
	}
	// Without that line, the head's policy would indeed let it through.
	head[".ferry/policies/yolo.rego"] = allowAllPolicy
	fromHead, err := newEngine(t, head).Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if !fromHead.Allowed {
		t.Fatalf("sanity check: the head's own policy should allow the change; summary %q", fromHead.Summary)
	}
}

func TestRepoPoliciesListed(t *testing.T) {
	e := newEngine(t, map[string]string{".ferry/policies/b.rego": extendPolicy, ".ferry/policies/a.rego": overridePolicy})
	if got, want := e.RepoPolicies(), []string{".ferry/policies/a.rego", ".ferry/policies/b.rego"}; !reflect.DeepEqual(got, want) {
		t.Errorf("RepoPolicies() = %v, want %v", got, want)
	}
	if got := newEngine(t, map[string]string{"README.md": "x"}).RepoPolicies(); len(got) != 0 {
		t.Errorf("RepoPolicies() = %v for a repository without policies", got)
	}
}

func TestInputHelpers(t *testing.T) {
	cfg, err := config.Parse([]byte("policy:\n  approvals:\n    - match: prod\n      count: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ConfigFrom(cfg.Policy), (Config{Approvals: []ApprovalRule{{Match: "prod", Count: 1}}}); !reflect.DeepEqual(got, want) {
		t.Errorf("ConfigFrom = %+v, want %+v", got, want)
	}
	if got := ConfigFrom(config.PolicyConfig{}); got.Approvals != nil {
		t.Errorf("ConfigFrom(unset) = %+v, want nil approvals", got)
	}
	fs := Findings([]secrets.Finding{{RuleID: "github-pat", File: "a.sh", Line: 2, Fingerprint: "x", Source: "added-line"}})
	if want := []SecretFinding{{Rule: "github-pat", File: "a.sh", Line: 2}}; !reflect.DeepEqual(fs, want) {
		t.Errorf("Findings = %+v, want %+v", fs, want)
	}
}

// TestReadmeExample compiles and runs the example in policies/README.md,
// so the documentation stays true.
func TestReadmeExample(t *testing.T) {
	readme, err := os.ReadFile("../../policies/README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "## Examples for `.ferry/policies`")
	_, after, ok2 := strings.Cut(after, "```rego\n")
	src, _, ok3 := strings.Cut(after, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("no rego example in policies/README.md")
	}
	e := newEngine(t, map[string]string{".ferry/policies/example.rego": src})
	sandbox := Environment{Name: "sandbox", Objects: []Object{
		{Kind: "Namespace", Name: "sandbox", Change: "removed"}, {Kind: "Namespace", Name: "sandbox-2", Change: "added"}}}
	in := pr([]Environment{production, sandbox},
		review("bob", ChangesRequested, "write", true), review("carol", Approved, "write", true, "sre"))
	in.PullRequest.Draft = true
	d, err := e.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	wantDeny := []string{"@bob requested changes", "draft pull requests cannot be merged",
		"sandbox removes Namespace sandbox; label the pull request remove-namespace"}
	wantReq := []Requirement{{Environment: "production", Count: 3, Teams: []string{"sre"}}, {Environment: "sandbox", Count: 0}}
	if !reflect.DeepEqual(d.Deny, wantDeny) || !reflect.DeepEqual(d.Requirements, wantReq) || d.Allowed {
		t.Errorf("example: deny %q, requirements %+v, allowed %v; want %q, %+v, false", d.Deny, d.Requirements, d.Allowed, wantDeny, wantReq)
	}
}

// TestConcurrentEvaluate: one Engine serves every job (run with -race).
func TestConcurrentEvaluate(t *testing.T) {
	e := newEngine(t, map[string]string{".ferry/policies/approvals.rego": overridePolicy})
	in := pr([]Environment{production, staging}, review("bob", Approved, "write", true, "sre"))
	want, err := e.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			d, err := e.Evaluate(context.Background(), in)
			if err == nil && !reflect.DeepEqual(d, want) {
				err = fmt.Errorf("decision %+v, want %+v", d, want)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
