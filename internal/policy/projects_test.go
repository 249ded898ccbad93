package policy

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/testrepo"
	"github.com/ferry-gitops/ferry/policies"
)

// tools is a new Application named like nothing in particular, aimed at
// the production cluster.
var tools = Environment{Name: "tools", Namespace: "tools", Cluster: "production-eu", ClusterName: "production-eu",
	Server: "https://k8s.example.com", Project: "default", Status: "changed", Added: 1}

func TestDefaultApprovalsMatchCluster(t *testing.T) {
	byServer := tools
	byServer.Cluster, byServer.ClusterName, byServer.Server = "https://k8s.prod.example.com", "", "https://k8s.prod.example.com"
	nameOnly := tools
	nameOnly.Server = ""
	elsewhere := Environment{Name: "tools", Namespace: "tools", Cluster: "staging", ClusterName: "staging",
		Server: "https://k8s.staging.example.com", Project: "default", Status: "changed", Added: 1}
	withRules := func(env Environment, rules ...ApprovalRule) Input {
		in := pr([]Environment{env})
		in.Config = Config{Approvals: append([]ApprovalRule{}, rules...)}
		return in
	}
	tests := []struct {
		name string
		in   Input
		want []Requirement
	}{
		{name: "cluster name contains prod", in: pr([]Environment{tools}), want: []Requirement{{Environment: "tools", Count: 2}}},
		{name: "cluster name alone", in: pr([]Environment{nameOnly}), want: []Requirement{{Environment: "tools", Count: 2}}},
		{name: "server contains prod", in: pr([]Environment{byServer}), want: []Requirement{{Environment: "tools", Count: 2}}},
		{name: "another cluster needs none", in: pr([]Environment{elsewhere})},
		{
			name: ".ferry.yaml's rules replace the default and do not look at the cluster",
			in:   withRules(tools, ApprovalRule{Match: "prod", Count: 1}),
		},
		{
			name: ".ferry.yaml's rules still match names",
			in:   withRules(production, ApprovalRule{Match: "prod", Count: 1}),
			want: []Requirement{{Environment: "production", Count: 1}},
		},
		{name: "an empty list in .ferry.yaml requires nothing", in: withRules(tools)},
	}
	e := newEngine(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := e.Evaluate(context.Background(), tt.in)
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if !reflect.DeepEqual(d.Requirements, tt.want) {
				t.Errorf("Requirements = %+v, want %+v", d.Requirements, tt.want)
			}
			if d.Allowed != (len(tt.want) == 0) {
				t.Errorf("Allowed = %v; summary %q", d.Allowed, d.Summary)
			}
		})
	}
}

// crb is production with a ClusterRoleBinding its project refuses.
var crb = func() Environment {
	env := production
	env.Project = "default"
	env.ProjectViolations = []ProjectViolation{{Resource: "rbac.authorization.k8s.io/ClusterRoleBinding/admin",
		File: "rbac/crb.yaml", Line: 1, Reason: "ClusterRoleBinding is not permitted in project default"}}
	return env
}()

const crbDenied = "production: ClusterRoleBinding is not permitted in project default (rbac/crb.yaml:1)"

func TestProjectViolationsDeny(t *testing.T) {
	violating := func(project string, vs ...ProjectViolation) Input {
		env := staging
		env.Project, env.ProjectViolations = project, vs
		return pr([]Environment{env})
	}
	tests := []struct {
		name     string
		in       Input
		wantDeny []string
	}{
		{name: "an object, at its file and line", in: pr([]Environment{crb}), wantDeny: []string{crbDenied}},
		{
			name:     "the destination, at the environment's definition",
			in:       violating("payments", ProjectViolation{File: "apps/staging.yaml", Line: 3, Reason: "destination staging/kube-system is not permitted in project payments"}),
			wantDeny: []string{"staging: destination staging/kube-system is not permitted in project payments (apps/staging.yaml:3)"},
		},
		{
			name:     "an object from no known file is named",
			in:       violating("default", ProjectViolation{Resource: "Namespace/payments", Reason: "Namespace is not permitted in project default"}),
			wantDeny: []string{"staging: Namespace is not permitted in project default (Namespace/payments)"},
		},
		{
			name:     "a file without a line",
			in:       violating("default", ProjectViolation{Resource: "Namespace/payments", File: "ns.yaml", Reason: "Namespace is not permitted in project default"}),
			wantDeny: []string{"staging: Namespace is not permitted in project default (ns.yaml)"},
		},
		{
			name:     "nowhere to point at",
			in:       violating("team", ProjectViolation{Reason: `project "team" is not granted to acme/app`}),
			wantDeny: []string{`staging: project "team" is not granted to acme/app`},
		},
		{
			name:     "no reason given",
			in:       violating("team", ProjectViolation{Resource: "Namespace/payments", File: "ns.yaml", Line: 2}),
			wantDeny: []string{"staging: not permitted in project team (ns.yaml:2)"},
		},
		{
			name: "several, sorted",
			in: func() Input {
				in := violating("default",
					ProjectViolation{File: "b.yaml", Line: 9, Reason: "Namespace is not permitted in project default"},
					ProjectViolation{File: "a.yaml", Line: 1, Reason: "Namespace is not permitted in project default"})
				in.Environments = append(in.Environments, crb)
				return in
			}(),
			wantDeny: []string{
				crbDenied,
				"staging: Namespace is not permitted in project default (a.yaml:1)",
				"staging: Namespace is not permitted in project default (b.yaml:9)",
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
			if !reflect.DeepEqual(d.Deny, tt.wantDeny) {
				t.Errorf("Deny = %q, want %q", d.Deny, tt.wantDeny)
			}
			if d.Allowed || !strings.Contains(d.Summary, "denied: "+tt.wantDeny[0]) {
				t.Errorf("Allowed = %v, summary %q; want denied, naming %q", d.Allowed, d.Summary, tt.wantDeny[0])
			}
		})
	}
}

// TestRepoPoliciesCannotLiftProjects: whatever a repository's policy
// says, a project violation stays a deny.
func TestRepoPoliciesCannotLiftProjects(t *testing.T) {
	tests := []struct {
		name    string
		policy  string
		wantErr string // from NewEngine; "" when it compiles
	}{
		{name: "an empty deny of its own", policy: "package ferry.policy\n\ndeny := set()\n"},
		{name: "waiving every approval", policy: allowAllPolicy + "\ndeny := set()\n"},
		{
			name: "its own copies of the defaults' helpers",
			policy: "package ferry.policy\n\nproject_violation_message(env, v) := \"\"\n\n" +
				"project_violation_reason(env, v) := \"\"\n\ndefault_approval_rules := []\n",
		},
		{
			name:    "rewriting the defaults' package",
			policy:  "package ferry.defaults\n\nproject_violation_message(env, v) := \"fine\"\n",
			wantErr: "policies here must be in package ferry.policy",
		},
		{
			name:    "a subpackage of the defaults",
			policy:  "package ferry.defaults.projects\n\ndeny := set()\n",
			wantErr: "policies here must be in package ferry.policy",
		},
	}
	// Enough approvals that only the deny stands in the way.
	in := pr([]Environment{crb}, review("bob", Approved, "write", true), review("carol", Approved, "write", true))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := testrepo.Tree(t, map[string]string{".ferry/policies/lift.rego": tt.policy})
			e, err := NewEngine(context.Background(), policies.Defaults(), tree)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewEngine error = %v, want one containing %q", err, tt.wantErr)
				}
				if d := FailClosed(err); d.Allowed {
					t.Error("FailClosed allowed the change")
				}
				return
			}
			if err != nil {
				t.Fatalf("NewEngine: %v", err)
			}
			d, err := e.Evaluate(context.Background(), in)
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if d.Allowed || !reflect.DeepEqual(d.Deny, []string{crbDenied}) {
				t.Errorf("Allowed = %v, Deny = %q; want denied with %q", d.Allowed, d.Deny, crbDenied)
			}
		})
	}
}
