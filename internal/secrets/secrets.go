// Package secrets finds credentials a pull request would commit: in the
// lines it adds and in the manifests its environments render to.
//
// Token shapes (AWS, GitHub, Slack, private keys and some 200 more) are
// gitleaks' default rule set, run as a library. Two structural rules read
// YAML instead of matching text: a core Kubernetes Secret with values in it
// (kubernetes-secret-in-git, replacing gitleaks' regex approximation of the
// same thing) and a password-like key with a real-looking value in a Helm
// values file (helm-values-secret). The same structural pass recognizes what
// is safe to commit, SealedSecrets, SOPS-encrypted values and placeholders,
// and keeps gitleaks' generic rule quiet on them.
//
// A finding never holds the secret: gitleaks runs with full redaction and
// only the rule, file, line, column and a fingerprint derived from those
// (never from the value, which could be brute-forced from a hash) are kept.
// Nothing here logs at all: what a scan could not do is returned
// (Scanner.Unscanned) for the caller to report. gitleaks' own logger prints
// values only at trace level; ferry leaves it at its default (info).
//
// Speed is gitleaks' regexes: well under 1 MB/s with Go's regexp package on
// manifest-heavy text, about twice that when built with -tags gore2regex
// (RE2 via WebAssembly, as gitleaks' own releases are); this package works
// with either. Scan what a change adds, not whole repositories or renders.
package secrets

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/zricethezav/gitleaks/v8/detect"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// Sources of a finding.
const (
	SourceAddedLine      = "added-line"
	sourceRenderedPrefix = "rendered:"
)

// Rule ids of ferry's structural rules; the others are gitleaks'.
const (
	RuleKubernetesSecret = "kubernetes-secret-in-git"
	RuleHelmValuesSecret = "helm-values-secret"
)

// allowSignature skips a line, for ferry's rules as for gitleaks'.
const allowSignature = "gitleaks:allow"

// Finding is one secret found. It has no field for the value, by design.
type Finding struct {
	RuleID      string `json:"rule"`
	Description string `json:"description,omitempty"`
	File        string `json:"file"`
	// Line and Column are 1-based. For a rendered finding they are the
	// position in the object printed as normalized YAML (ferry's diff form).
	Line   int `json:"line"`
	Column int `json:"column,omitempty"`
	// Resource is the object a rendered finding is in: group/Kind/namespace/name.
	Resource string `json:"resource,omitempty"`
	// Fingerprint identifies the finding across runs for allowlisting. It
	// hashes rule, file and position, never the value.
	Fingerprint string `json:"fingerprint"`
	// Source is "added-line" or "rendered:<environment>".
	Source string `json:"source"`
}

// String names the rule and the place; like every form of a Finding it
// holds no part of the secret.
func (f Finding) String() string {
	where := f.File
	if f.Resource != "" {
		if where == "" {
			where = f.Resource
		} else {
			where += " (" + f.Resource + ")"
		}
	}
	return fmt.Sprintf("%s in %s:%d [%s, fingerprint %s]", f.RuleID, where, f.Line, f.Source, f.Fingerprint)
}

// RenderedSource is the Source of findings in an environment's render.
func RenderedSource(env string) string { return sourceRenderedPrefix + env }

// Allowlist says what the scanner may ignore; .ferry.yaml's secrets.allow
// from the base branch.
type Allowlist struct {
	// Paths are globs on repository paths: "*" and "?" stay within a path
	// element, "**" spans any number of them, and a glob without "/"
	// matches the base name at any depth ("*.md").
	Paths []string
	// Fingerprints are findings' Fingerprint values; gitleaks-style
	// "file:rule:line" entries (as in .gitleaksignore) work as well.
	Fingerprints []string
	// Regexes (RE2) are tested against the detected secret, as gitleaks'
	// allowlist regexes are; for ferry's structural rules, against the
	// (decoded) value.
	Regexes []string
}

// Option configures a Scanner.
type Option func(*Scanner)

// Scanner scans with a rule set and one repository's allowlist. It is safe
// for concurrent use.
type Scanner struct {
	detector     *detect.Detector
	paths        []glob
	fingerprints map[string]bool
	regexes      []*regexp.Regexp
	budget       *budget
	renderInputs map[string]bool

	mu        sync.Mutex
	unscanned []Unscanned
}

// Unscanned is a rendered object ScanManifests could not scan because it
// could not be printed as YAML. It holds no part of the object's content.
type Unscanned struct {
	Env string
	// Resource is the object: group/Kind/namespace/name.
	Resource string
	// ErrorType is the Go type of the printing error (its message could
	// quote the object).
	ErrorType string
}

// Unscanned returns the objects ScanManifests has skipped so far, for the
// caller to log: they pass the scan unread.
func (s *Scanner) Unscanned() []Unscanned {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.unscanned)
}

// NewScanner compiles gitleaks' default rules with the allowlist added.
// Compiling the rules takes tens of milliseconds; a process that scans for
// many repositories loads them once with LoadRules and calls Rules.Scanner.
func NewScanner(allow Allowlist, opts ...Option) (*Scanner, error) {
	rules, err := LoadRules()
	if err != nil {
		return nil, err
	}
	return rules.Scanner(allow, opts...)
}

// Scanner makes a scanner of these rules with a repository's allowlist.
func (r *Rules) Scanner(allow Allowlist, opts ...Option) (*Scanner, error) {
	s := &Scanner{fingerprints: map[string]bool{}, budget: &budget{limits: DefaultLimits()}, renderInputs: map[string]bool{}}
	for _, o := range opts {
		o(s)
	}
	for _, p := range allow.Paths {
		g, err := compileGlob(p)
		if err != nil {
			return nil, fmt.Errorf("secrets allowlist path %q: %w", p, err)
		}
		s.paths = append(s.paths, g)
	}
	for _, f := range allow.Fingerprints {
		s.fingerprints[strings.TrimSpace(f)] = true
	}
	for _, re := range allow.Regexes {
		c, err := regexp.Compile(re)
		if err != nil {
			return nil, fmt.Errorf("secrets allowlist regex %q: %w", re, err)
		}
		s.regexes = append(s.regexes, c)
	}
	d, err := r.detector(allow.Regexes)
	if err != nil {
		return nil, err
	}
	s.detector = d
	return s, nil
}

// ScanAdded scans the added lines of one changed file. The structural rules
// see only these lines; ScanChange with the whole head file finds a value
// added to an existing Secret as well.
func (s *Scanner) ScanAdded(file string, lines []AddedLine) []Finding {
	return s.ScanChange(file, nil, lines)
}

// ScanChange scans the added lines of one changed file, giving the
// structural rules the whole head content (nil: only the added lines) so
// they know which document a line is in. Only findings on added lines are
// reported.
func (s *Scanner) ScanChange(file string, head []byte, added []AddedLine) []Finding {
	if len(added) == 0 || s.pathAllowed(file) {
		return nil
	}
	if head == nil {
		head = reassemble(added)
	}
	isAdded := make(map[int]bool, len(added))
	for _, l := range added {
		isAdded[l.Number] = true
	}
	st := analyze(head, isYAMLPath(file), isValuesFile(file))
	var out []Finding
	for _, block := range blocks(added) {
		for _, h := range s.detect(file, block) {
			if !st.suppressed(h) {
				out = append(out, s.finding(h, file, "", SourceAddedLine))
			}
		}
	}
	for _, h := range st.findings {
		if isAdded[h.line] && !s.valueAllowed(h.value) {
			out = append(out, s.finding(h, file, "", SourceAddedLine))
		}
	}
	return s.finish(out)
}

// ScanManifests scans an environment's rendered objects: what Argo CD would
// apply, so a secret that reaches a manifest through a chart's values or a
// generator is found even when no added line shows it. Pass the objects the
// change adds or changes (the head side of the diff): an unchanged object
// holds nothing this change commits, and a big render (CRDs) is slow to
// scan. Inline gitleaks:allow comments do not survive rendering; allowlist
// a rendered finding by fingerprint or by its source path.
func (s *Scanner) ScanManifests(env string, objs []manifest.Object) []Finding {
	source := RenderedSource(env)
	var out []Finding
	for _, o := range objs {
		if o.Source != "" && s.pathAllowed(o.Source) {
			continue
		}
		text, err := manifest.Marshal(o.Object)
		if err != nil {
			// The error may quote the object; keep only its type.
			s.mu.Lock()
			s.unscanned = append(s.unscanned, Unscanned{Env: env, Resource: o.Key.String(), ErrorType: fmt.Sprintf("%T", err)})
			s.mu.Unlock()
			continue
		}
		if !s.budget.spend(len(text)) {
			out = append(out, s.incomplete(o.Source, o.Key.String(), source))
			break
		}
		st := analyze(text, true, false)
		resource := o.Key.String()
		for _, h := range s.detect(o.Source, fragment{text: string(text), startLine: 1}) {
			if !st.suppressed(h) {
				out = append(out, s.finding(h, o.Source, resource, source))
			}
		}
		for _, h := range st.findings {
			if !s.valueAllowed(h.value) {
				out = append(out, s.finding(h, o.Source, resource, source))
			}
		}
	}
	return s.finish(out)
}

// hit is a finding before it is turned into a Finding. value is set by the
// structural rules for the allowlist's regexes and dropped right after.
type hit struct {
	rule, description string
	line, column      int
	value             string
}

func (s *Scanner) finding(h hit, file, resource, source string) Finding {
	loc := strconv.Itoa(h.line)
	if resource != "" {
		loc = resource + ":" + loc
	}
	return Finding{
		RuleID:      h.rule,
		Description: h.description,
		File:        file,
		Line:        h.line,
		Column:      h.column,
		Resource:    resource,
		Fingerprint: Fingerprint(h.rule, file, loc),
		Source:      source,
	}
}

// Fingerprint is the redacted identity of a finding: 16 hex digits of a
// SHA-256 over rule, file and location, all of which are public anyway.
func Fingerprint(rule, file, location string) string {
	sum := sha256.Sum256([]byte(rule + "\x00" + file + "\x00" + location))
	return hex.EncodeToString(sum[:8])
}

// finish drops allowlisted and duplicate findings, and sorts.
func (s *Scanner) finish(in []Finding) []Finding {
	seen := map[string]bool{}
	out := in[:0]
	for _, f := range in {
		if seen[f.Fingerprint] || s.fingerprints[f.Fingerprint] ||
			s.fingerprints[fmt.Sprintf("%s:%s:%d", f.File, f.RuleID, f.Line)] {
			continue
		}
		seen[f.Fingerprint] = true
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Resource != b.Resource {
			return a.Resource < b.Resource
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.RuleID < b.RuleID
	})
	if len(out) == 0 {
		return nil
	}
	return out
}

func (s *Scanner) pathAllowed(file string) bool {
	for _, g := range s.paths {
		if g.match(file) {
			return true
		}
	}
	return false
}

func (s *Scanner) valueAllowed(v string) bool {
	for _, re := range s.regexes {
		if re.MatchString(v) {
			return true
		}
	}
	return false
}
