package policy

import (
	"context"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/testrepo"
	"github.com/ferry-gitops/ferry/policies"
)

func TestBadPoliciesFailClosed(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string
	}{
		{
			name:    "syntax error",
			files:   map[string]string{".ferry/policies/x.rego": "package ferry.policy\n\ndeny contains msg if {\n\tmsg := \"a\" +\n}\n"},
			wantErr: ".ferry/policies/x.rego:5: rego_parse_error",
		},
		{
			name:    "Rego v0 syntax (no if)",
			files:   map[string]string{".ferry/policies/old.rego": "package ferry.policy\n\ndeny[msg] {\n\tmsg := \"x\"\n}\n"},
			wantErr: ".ferry/policies/old.rego:3: rego_parse_error",
		},
		{
			name:    "unsafe variable",
			files:   map[string]string{".ferry/policies/x.rego": "package ferry.policy\n\ndeny contains msg if {\n\tx == 1\n\tmsg := \"a\"\n}\n"},
			wantErr: ".ferry/policies/x.rego:4: rego_unsafe_var_error",
		},
		{
			name:    "the network is not reachable from a policy",
			files:   map[string]string{".ferry/policies/net.rego": "package ferry.policy\n\ndeny contains r.body if {\n\tr := http.send({\"method\": \"get\", \"url\": \"http://127.0.0.1/\"})\n}\n"},
			wantErr: ".ferry/policies/net.rego:4: rego_type_error: undefined function http.send",
		},
		{
			name:    "nor the process environment",
			files:   map[string]string{".ferry/policies/env.rego": "package ferry.policy\n\ndeny contains k if {\n\tsome k, _ in opa.runtime().env\n}\n"},
			wantErr: ".ferry/policies/env.rego:4: rego_type_error: undefined function opa.runtime",
		},
		{
			name:    "a repository policy may not join the defaults' package",
			files:   map[string]string{".ferry/policies/sneaky.rego": "package ferry.defaults\n\napprovals contains {\"environment\": \"x\", \"count\": 0} if true\n"},
			wantErr: ".ferry/policies/sneaky.rego:1: package ferry.defaults: policies here must be in package ferry.policy",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := NewEngine(context.Background(), policies.Defaults(), testrepo.Tree(t, tt.files))
			if err == nil {
				t.Fatalf("NewEngine succeeded (%v); want an error containing %q", e, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
			d := FailClosed(err)
			if d.Allowed || !strings.Contains(d.Summary, tt.wantErr) {
				t.Errorf("FailClosed = %+v; want not allowed, naming the error", d)
			}
		})
	}
}

func TestEvaluationErrorsFailClosed(t *testing.T) {
	tests := []struct {
		name    string
		policy  string
		wantErr string
	}{
		{
			name:    "approvals of the wrong shape",
			policy:  "package ferry.policy\n\napprovals contains {\"environment\": \"production\", \"count\": \"two\"} if true\n",
			wantErr: "data.ferry.policy.approvals:",
		},
		{
			name:    "deny that is not a set of strings",
			policy:  "package ferry.policy\n\ndeny contains 7 if true\n",
			wantErr: "data.ferry.policy.deny must be a set of strings",
		},
		{
			name:    "a complete rule with two values",
			policy:  "package ferry.policy\n\nlimit := n if { some env in input.environments; n := count(env.name) }\n",
			wantErr: ".ferry/policies/p.rego:3: eval_conflict_error",
		},
	}
	in := pr([]Environment{production, staging}, review("bob", Approved, "write", true), review("carol", Approved, "write", true))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, map[string]string{".ferry/policies/p.rego": tt.policy})
			d, err := e.Evaluate(context.Background(), in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Evaluate error = %v, want one containing %q", err, tt.wantErr)
			}
			if d == nil || d.Allowed {
				t.Errorf("decision %+v; want a non-nil, not allowed decision", d)
			}
		})
	}
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		d, err := newEngine(t, nil).Evaluate(ctx, in)
		if err == nil || d.Allowed {
			t.Errorf("Evaluate with a cancelled context = %+v, %v; want an error and not allowed", d, err)
		}
	})
}
