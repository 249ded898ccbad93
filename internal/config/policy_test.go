package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestPolicyAndSecretsSections(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    *Config
		wantErr string
	}{
		{
			name: "absent sections keep the defaults (nil approvals)",
			yaml: "diff: {}\n",
			want: &Config{},
		},
		{
			name: "explicit empty approvals is not nil",
			yaml: "policy:\n  approvals: []\n",
			want: &Config{Policy: PolicyConfig{Approvals: []ApprovalRule{}}},
		},
		{
			name: "full",
			yaml: `policy:
  approvals:
    - match: "^prod"
      count: 3
      teams: [sre, platform]
    - match: staging
      count: 1
secrets:
  allow:
    paths: ["docs/**", "*.md"]
    fingerprints: [0a1b2c3d4e5f6a7b]
    regexes: ["^dummy-"]
`,
			want: &Config{
				Policy: PolicyConfig{Approvals: []ApprovalRule{
					{Match: "^prod", Count: 3, Teams: []string{"sre", "platform"}, Line: 3},
					{Match: "staging", Count: 1, Line: 6},
				}},
				Secrets: SecretsConfig{Allow: SecretsAllow{
					Paths:        []string{"docs/**", "*.md"},
					Fingerprints: []string{"0a1b2c3d4e5f6a7b"},
					Regexes:      []string{"^dummy-"},
					Line:         10,
				}},
			},
		},
		{
			name:    "unknown policy field",
			yaml:    "policy:\n  aprovals: []\n",
			wantErr: `.ferry.yaml:2: policy: unknown field "aprovals" (did you mean "approvals"?)`,
		},
		{
			name:    "unknown rule field",
			yaml:    "policy:\n  approvals:\n    - match: prod\n      required: 2\n",
			wantErr: `.ferry.yaml:4: policy.approvals[0]: unknown field "required"`,
		},
		{
			name:    "count must be an integer",
			yaml:    "policy:\n  approvals:\n    - match: prod\n      count: two\n",
			wantErr: `.ferry.yaml:4: policy.approvals[0].count: expected an integer, found "two"`,
		},
		{
			name:    "missing match",
			yaml:    "policy:\n  approvals:\n    - count: 2\n",
			wantErr: `.ferry.yaml:3: policy.approvals[0]: match is required`,
		},
		{
			name:    "bad regex",
			yaml:    "policy:\n  approvals:\n    - match: \"prod(\"\n      count: 2\n",
			wantErr: `.ferry.yaml:3: policy.approvals[0]: match: error parsing regexp`,
		},
		{
			name:    "negative count",
			yaml:    "policy:\n  approvals:\n    - match: prod\n      count: -1\n",
			wantErr: `.ferry.yaml:3: policy.approvals[0]: count -1: use 0 to 100`,
		},
		{
			name:    "bad team",
			yaml:    "policy:\n  approvals:\n    - match: prod\n      count: 1\n      teams: [\"\"]\n",
			wantErr: `policy.approvals[0]: teams: "" is not a team slug`,
		},
		{
			name:    "unknown secrets field",
			yaml:    "secrets:\n  allowlist: {}\n",
			wantErr: `.ferry.yaml:2: secrets: unknown field "allowlist"`,
		},
		{
			name:    "bad glob",
			yaml:    "secrets:\n  allow:\n    paths: [\"docs/[\"]\n",
			wantErr: `.ferry.yaml:3: secrets.allow.paths[0]: "docs/[": syntax error in pattern`,
		},
		{
			name:    "bad secret regex",
			yaml:    "secrets:\n  allow:\n    regexes: [\"a(\"]\n",
			wantErr: `.ferry.yaml:3: secrets.allow.regexes[0]: error parsing regexp`,
		},
		{
			name:    "empty secret regex would allow everything",
			yaml:    "secrets:\n  allow:\n    regexes: [\"\"]\n",
			wantErr: `secrets.allow.regexes[0]: empty regex matches every secret`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse() error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse() =\n%#v\nwant\n%#v", got, tt.want)
			}
			if (got.Policy.Approvals == nil) != (tt.want.Policy.Approvals == nil) {
				t.Errorf("approvals nil = %v, want %v", got.Policy.Approvals == nil, tt.want.Policy.Approvals == nil)
			}
		})
	}
}
