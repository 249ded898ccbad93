// Package policy decides whether a pull request may merge: Rego policies,
// evaluated with OPA, say what is denied and how many approvals each
// environment needs; ferry then counts the approvals that satisfy that and
// writes down exactly what is missing.
//
// Policies come from two places. ferry's defaults (policies/*.rego, package
// ferry.defaults) are embedded in the binary. A repository extends or
// overrides them with .ferry/policies/*.rego, package ferry.policy:
//
//   - deny is the union of both packages' deny sets, so a repository can add
//     reasons to refuse a change but never remove a default one;
//   - approvals from the repository replace the defaults' for every
//     environment they name, so a repository can demand more, or less.
//
// The repository's policies MUST be read from the pull request's BASE
// branch, never from its head. A pull request that edits .ferry/policies
// would otherwise approve itself; read from the base, such an edit takes
// effect only after it has merged under the policies in force before it.
// NewEngine takes the base tree for that reason.
//
// Everything fails closed: a policy that does not compile, an evaluation
// error or a malformed result gives a Decision that is not allowed.
package policy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/ferry-gitops/ferry/internal/repofs"
)

// RepoDir is where a repository keeps its policies, on its base branch.
const RepoDir = ".ferry/policies"

// Packages the two sources of policy must use.
const (
	DefaultsPackage = "ferry.defaults"
	RepoPackage     = "ferry.policy"
)

// Limits on a repository's policies: they are code from the repository,
// so the number, the size and the running time are bounded.
const (
	maxPolicyFiles = 64
	maxPolicySize  = 256 << 10
	evalTimeout    = 10 * time.Second
)

// deniedBuiltins reach outside the evaluation: the network, or the
// process's environment (where ferry's credentials live).
var deniedBuiltins = map[string]bool{
	"http.send":          true,
	"net.lookup_ip_addr": true,
	"opa.runtime":        true,
}

// Engine holds the compiled policies; it is safe for concurrent use.
type Engine struct {
	query     rego.PreparedEvalQuery
	repoFiles []string
}

// RepoPolicies lists the repository policy files the engine compiled.
func (e *Engine) RepoPolicies() []string { return append([]string(nil), e.repoFiles...) }

// NewEngine compiles the default policies and, when repo is not nil, the
// repository's .ferry/policies/*.rego from it. repo MUST be the pull
// request's base tree (see the package comment). Errors name the file and
// line; the caller must then treat the pull request as not allowed
// (FailClosed).
func NewEngine(ctx context.Context, defaults fs.FS, repo *repofs.Tree) (*Engine, error) {
	var modules []*ast.Module
	names, err := fs.Glob(defaults, "*.rego")
	if err != nil {
		return nil, fmt.Errorf("list default policies: %w", err)
	}
	if len(names) == 0 {
		return nil, errors.New("no default policies")
	}
	for _, name := range names {
		src, err := fs.ReadFile(defaults, name)
		if err != nil {
			return nil, fmt.Errorf("read default policy %s: %w", name, err)
		}
		m, err := parse(path.Join("policies", name), src, DefaultsPackage)
		if err != nil {
			return nil, err
		}
		modules = append(modules, m)
	}
	repoModules, err := loadRepo(repo)
	if err != nil {
		return nil, err
	}
	var repoFiles []string
	for _, m := range repoModules {
		repoFiles = append(repoFiles, m.Package.Location.File)
	}
	modules = append(modules, repoModules...)

	opts := []func(*rego.Rego){
		rego.Query("data.ferry"),
		rego.Capabilities(capabilities()),
		rego.StrictBuiltinErrors(true),
		rego.SetRegoVersion(ast.RegoV1),
	}
	for _, m := range modules {
		opts = append(opts, rego.ParsedModule(m))
	}
	q, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("compile policies: %w", locate(err))
	}
	return &Engine{query: q, repoFiles: repoFiles}, nil
}

// loadRepo parses .ferry/policies/*.rego. Test files (*_test.rego) are
// for `opa test` and left out.
func loadRepo(tree *repofs.Tree) ([]*ast.Module, error) {
	if tree == nil || !tree.IsDir(RepoDir) {
		return nil, nil
	}
	entries, err := tree.ReadDir(RepoDir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", RepoDir, err)
	}
	var out []*ast.Module
	for _, e := range entries {
		name := path.Join(RepoDir, e)
		if !strings.HasSuffix(e, ".rego") || strings.HasSuffix(e, "_test.rego") || tree.IsDir(name) {
			continue
		}
		if len(out) == maxPolicyFiles {
			return nil, fmt.Errorf("%s: more than %d policy files", RepoDir, maxPolicyFiles)
		}
		if size, err := tree.Size(name); err == nil && size > maxPolicySize {
			return nil, fmt.Errorf("%s: %d bytes is over the %d byte limit", name, size, maxPolicySize)
		}
		src, err := tree.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		m, err := parse(name, src, RepoPackage)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// parse parses one module as Rego v1 and checks that it is in pkg (or
// below it), so a repository's policy cannot add to or break the defaults.
func parse(name string, src []byte, pkg string) (*ast.Module, error) {
	m, err := ast.ParseModuleWithOpts(name, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return nil, fmt.Errorf("parse policy: %w", locate(err))
	}
	got := strings.TrimPrefix(m.Package.Path.String(), "data.")
	if got != pkg && !strings.HasPrefix(got, pkg+".") {
		return nil, fmt.Errorf("%s:%d: package %s: policies here must be in package %s", name, m.Package.Location.Row, got, pkg)
	}
	return m, nil
}

// locate rewrites OPA's error lists as "file:line: message" lines.
func locate(err error) error {
	var errs ast.Errors
	if !errors.As(err, &errs) || len(errs) == 0 {
		return err
	}
	lines := make([]string, 0, len(errs))
	for _, e := range errs {
		lines = append(lines, e.Error())
	}
	return errors.New(strings.Join(lines, "\n"))
}

// capabilities are this OPA's, less the builtins that reach outside.
func capabilities() *ast.Capabilities {
	c := ast.CapabilitiesForThisVersion()
	kept := c.Builtins[:0]
	for _, b := range c.Builtins {
		if !deniedBuiltins[b.Name] {
			kept = append(kept, b)
		}
	}
	c.Builtins = kept
	// Empty, not nil: no host may be contacted (remote JSON schemas).
	c.AllowNet = []string{}
	return c
}

// Requirement is what one environment needs: Count approvals, from members
// of one of Teams when it is not empty.
type Requirement struct {
	Environment string   `json:"environment"`
	Count       int      `json:"count"`
	Teams       []string `json:"teams,omitempty"`
}

// Decision is the outcome for one pull request.
type Decision struct {
	Allowed bool `json:"allowed"`
	// Deny lists every reason the policies refuse the change, sorted.
	Deny []string `json:"deny"`
	// Requirements are the approvals each environment needs, by environment.
	Requirements []Requirement `json:"requirements"`
	// Status says, per requirement, how far the reviews go towards it.
	Status []EnvironmentStatus `json:"status"`
	// Summary says exactly what is missing, one sentence per problem.
	Summary string `json:"summary"`
}

// FailClosed is the decision when the policies cannot be evaluated.
func FailClosed(err error) *Decision {
	msg := "policy evaluation failed: " + err.Error()
	return &Decision{Allowed: false, Deny: []string{msg}, Summary: msg}
}

// Evaluate decides on one pull request. On error the returned Decision is
// FailClosed's, never nil.
func (e *Engine) Evaluate(ctx context.Context, in Input) (*Decision, error) {
	d, err := e.evaluate(ctx, in)
	if err != nil {
		return FailClosed(err), err
	}
	return d, nil
}

func (e *Engine) evaluate(ctx context.Context, in Input) (*Decision, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("evaluate policies: %w", err)
	}
	in = in.normalized()
	value, err := ast.InterfaceToValue(in)
	if err != nil {
		return nil, fmt.Errorf("policy input: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, evalTimeout)
	defer cancel()
	rs, err := e.query.Eval(ctx, rego.EvalParsedInput(value))
	if err != nil {
		return nil, fmt.Errorf("evaluate policies: %w", locate(err))
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return nil, errors.New("evaluate policies: no result")
	}
	doc, ok := rs[0].Expressions[0].Value.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("evaluate policies: data.ferry is %T, not an object", rs[0].Expressions[0].Value)
	}
	defaults, err := readPackage(doc, "defaults", DefaultsPackage)
	if err != nil {
		return nil, err
	}
	repo, err := readPackage(doc, "policy", RepoPackage)
	if err != nil {
		return nil, err
	}
	d := &Decision{Deny: union(defaults.deny, repo.deny), Requirements: merge(defaults.approvals, repo.approvals, repo.hasApprovals)}
	d.Status = satisfy(d.Requirements, in)
	d.Allowed = len(d.Deny) == 0
	for _, s := range d.Status {
		d.Allowed = d.Allowed && s.Missing == 0
	}
	d.Summary = summarize(d)
	return d, nil
}

// output is one package's decision.
type output struct {
	deny         []string
	approvals    []Requirement
	hasApprovals bool
}

// readPackage reads deny and approvals from data.ferry.<key>. A package
// that is absent, or does not define a rule, contributes nothing; a rule
// of the wrong shape is an error.
func readPackage(doc map[string]any, key, pkg string) (output, error) {
	var out output
	p, ok := doc[key]
	if !ok {
		return out, nil
	}
	m, ok := p.(map[string]any)
	if !ok {
		return out, fmt.Errorf("data.%s is %T, not a package", pkg, p)
	}
	if raw, ok := m["deny"]; ok {
		list, ok := raw.([]any)
		if !ok {
			return out, fmt.Errorf("data.%s.deny must be a set of strings, not %T", pkg, raw)
		}
		for _, v := range list {
			s, ok := v.(string)
			if !ok {
				return out, fmt.Errorf("data.%s.deny must be a set of strings, found %v", pkg, v)
			}
			out.deny = append(out.deny, s)
		}
	}
	if raw, ok := m["approvals"]; ok {
		out.hasApprovals = true
		list, ok := raw.([]any)
		if !ok {
			return out, fmt.Errorf("data.%s.approvals must be a set of objects, not %T", pkg, raw)
		}
		for _, v := range list {
			r, err := requirement(v)
			if err != nil {
				return out, fmt.Errorf("data.%s.approvals: %w", pkg, err)
			}
			out.approvals = append(out.approvals, r)
		}
	}
	return out, nil
}

// requirement reads {"environment": string, "count": int, "teams": [string]}.
func requirement(v any) (Requirement, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Requirement{}, fmt.Errorf("%v is not an object", v)
	}
	var r Requirement
	if r.Environment, ok = m["environment"].(string); !ok || r.Environment == "" {
		return r, fmt.Errorf("%v: environment must be a non-empty string", v)
	}
	n, err := number(m["count"])
	if err != nil {
		return r, fmt.Errorf("%v: count: %w", v, err)
	}
	r.Count = n
	if t, ok := m["teams"]; ok && t != nil {
		list, ok := t.([]any)
		if !ok {
			return r, fmt.Errorf("%v: teams must be a list of strings", v)
		}
		for _, x := range list {
			s, ok := x.(string)
			if !ok {
				return r, fmt.Errorf("%v: teams must be a list of strings", v)
			}
			r.Teams = append(r.Teams, s)
		}
		sort.Strings(r.Teams)
	}
	return r, nil
}

// number reads a non-negative integer from OPA's JSON numbers.
func number(v any) (int, error) {
	var f float64
	switch n := v.(type) {
	case interface{ Int64() (int64, error) }: // json.Number
		i, err := n.Int64()
		if err != nil {
			return 0, fmt.Errorf("%v is not an integer", v)
		}
		f = float64(i)
	case float64:
		f = n
	case int:
		f = float64(n)
	default:
		return 0, fmt.Errorf("%v is not a number", v)
	}
	if f < 0 || f != float64(int(f)) || f > 1000 {
		return 0, fmt.Errorf("%v is not an integer from 0 to 1000", v)
	}
	return int(f), nil
}

func union(a, b []string) []string {
	set := map[string]bool{}
	for _, s := range append(append([]string(nil), a...), b...) {
		set[s] = true
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// merge keeps the defaults' requirements for the environments the
// repository's approvals do not name, and the repository's for the rest.
// Several requirements for one environment all apply.
func merge(defaults, repo []Requirement, repoSet bool) []Requirement {
	named := map[string]bool{}
	for _, r := range repo {
		named[r.Environment] = true
	}
	var out []Requirement
	for _, r := range defaults {
		if !named[r.Environment] {
			out = append(out, r)
		}
	}
	if repoSet {
		out = append(out, repo...)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Environment != b.Environment {
			return a.Environment < b.Environment
		}
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return strings.Join(a.Teams, ",") < strings.Join(b.Teams, ",")
	})
	return out
}
