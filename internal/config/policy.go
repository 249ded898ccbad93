package config

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// maxApprovals bounds a rule's count; a higher number is a typo that would
// make every pull request unmergeable.
const maxApprovals = 100

// PolicyConfig tunes the default merge policy (policies/*.rego):
//
//	policy:
//	  approvals:
//	    - match: "prod"     # RE2 regex, unanchored, against the environment's name or namespace
//	      count: 2          # approvals needed on the current head
//	      teams: [sre]      # optional: only members of these teams (slugs) count
//
// Rules are tried in order and the first that matches an environment sets
// its requirement; an environment no rule matches needs no approval. Left
// out (or null), the default is [{match: "prod", count: 2}]; an empty list
// requires nothing anywhere. A repository's own .ferry/policies/*.rego may
// override the result.
type PolicyConfig struct {
	// Approvals is nil when .ferry.yaml does not set it, so the default
	// applies; an explicit [] is a non-nil empty slice.
	Approvals []ApprovalRule `json:"approvals"`
}

// ApprovalRule is one entry of policy.approvals.
type ApprovalRule struct {
	Match string   `json:"match"`
	Count int      `json:"count"`
	Teams []string `json:"teams,omitempty"`

	// Line is where the entry starts in .ferry.yaml, for messages.
	Line int `json:"-"`
}

// SecretsConfig tunes the secret scanner: what it may ignore.
//
//	secrets:
//	  allow:
//	    paths: ["docs/examples/**", "*.md"]   # globs; no "/" matches the base name at any depth
//	    fingerprints: ["0a1b2c3d4e5f6a7b"]    # a finding's fingerprint, as ferry reports it
//	    regexes: ["^dummy-"]                  # RE2, tested against the detected secret
type SecretsConfig struct {
	Allow SecretsAllow `json:"allow"`
}

// SecretsAllow lists what the secret scanner skips.
type SecretsAllow struct {
	Paths        []string `json:"paths,omitempty"`
	Fingerprints []string `json:"fingerprints,omitempty"`
	Regexes      []string `json:"regexes,omitempty"`

	// Line is where the mapping starts in .ferry.yaml, for messages.
	Line int `json:"-"`
}

func (p *PolicyConfig) validate() error {
	for i, r := range p.Approvals {
		fail := func(format string, args ...any) error {
			return &manifest.ParseError{File: FileName, Line: r.Line, Err: fmt.Errorf("policy.approvals[%d]: "+format, append([]any{i}, args...)...)}
		}
		if strings.TrimSpace(r.Match) == "" {
			return fail("match is required (a regex such as \"prod\"; \".\" matches every environment)")
		}
		if _, err := regexp.Compile(r.Match); err != nil {
			return fail("match: %v", err)
		}
		if r.Count < 0 || r.Count > maxApprovals {
			return fail("count %d: use 0 to %d", r.Count, maxApprovals)
		}
		for _, t := range r.Teams {
			if strings.TrimSpace(t) == "" || strings.ContainsAny(t, " \t") {
				return fail("teams: %q is not a team slug", t)
			}
		}
	}
	return nil
}

func (s *SecretsConfig) validate() error {
	a := s.Allow
	fail := func(format string, args ...any) error {
		return &manifest.ParseError{File: FileName, Line: a.Line, Err: fmt.Errorf("secrets.allow."+format, args...)}
	}
	for i, p := range a.Paths {
		if strings.TrimSpace(p) == "" {
			return fail("paths[%d]: empty glob", i)
		}
		if _, err := path.Match(p, ""); err != nil {
			return fail("paths[%d]: %q: %v", i, p, err)
		}
	}
	for i, f := range a.Fingerprints {
		if strings.TrimSpace(f) == "" {
			return fail("fingerprints[%d]: empty fingerprint", i)
		}
	}
	for i, r := range a.Regexes {
		if r == "" {
			// An empty regex matches everything and would disable the scanner.
			return fail("regexes[%d]: empty regex matches every secret", i)
		}
		if _, err := regexp.Compile(r); err != nil {
			return fail("regexes[%d]: %v", i, err)
		}
	}
	return nil
}
