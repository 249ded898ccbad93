// Package normalize applies an Argo CD Application's ignoreDifferences to
// Kubernetes objects, as Argo CD's diff normalizers do: for each entry whose
// group and kind (globs, "*" for any) and optional name and namespace match
// an object, the fields its JSON pointers name, the paths its jq path
// expressions yield and the fields its managed-fields managers own in the
// live object are left out of comparisons (drift, the live diff) and, with
// RespectIgnoreDifferences=true, kept at their live values by a sync.
//
// The expressions come from Git, so their evaluation is bounded: each run
// of a jq expression has a deadline and may yield a bounded number of paths.
// They are only ever run from merged definitions (the default branch's, a
// synced commit's), never from a pull request's head, whose Applications
// are only parsed and compiled. The deadline is checked between jq steps,
// so one builtin call is not cut short ("x" * 1e9 allocates its gigabyte
// before it is): time is bounded per step, memory is not, as in Argo CD,
// which runs the same expressions in-process with the same deadline.
package normalize

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"time"

	"github.com/itchyny/gojq"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/ferry-gitops/ferry/internal/environment"
)

// Limits bound a jq expression's run: Argo CD's default timeout is a
// second, and no real expression selects thousands of fields.
const (
	DefaultTimeout  = time.Second
	DefaultMaxPaths = 1000
)

// ErrLimit is wrapped by the error of a jq expression that ran out of time
// or yielded too many paths.
var ErrLimit = errors.New("jq expression over its limit")

// Normalizer holds an Application's compiled ignoreDifferences. A nil
// *Normalizer ignores nothing. It is safe for concurrent use.
type Normalizer struct {
	rules    []rule
	timeout  time.Duration
	maxPaths int
}

type rule struct {
	src      environment.IgnoreDifference
	pointers []fieldpath.Path
	jq       []*gojq.Code
	managers map[string]bool
	// err is why the entry could not be compiled: it is reported for each
	// object it matches rather than silently ignoring nothing.
	err error
}

// Object names the object a rule is matched against.
type Object struct {
	Group, Kind, Namespace, Name string
}

// New compiles ignore entries; nil when there are none. An entry that does
// not compile (Application parsing refuses those, so only a stored or
// hand-built one) makes Paths fail for the objects it matches.
func New(diffs []environment.IgnoreDifference) *Normalizer {
	if len(diffs) == 0 {
		return nil
	}
	n := &Normalizer{timeout: DefaultTimeout, maxPaths: DefaultMaxPaths}
	for i, d := range diffs {
		r := rule{src: d, managers: map[string]bool{}}
		if err := d.Validate(); err != nil {
			r.err = fmt.Errorf("ignoreDifferences[%d]: %w", i, err)
		}
		for _, p := range d.JSONPointers {
			toks, err := environment.ParsePointer(p)
			if err == nil {
				r.pointers = append(r.pointers, pointerPath(toks))
			}
		}
		for _, q := range d.JQPathExpressions {
			if code, err := environment.CompileJQPath(q); err == nil {
				r.jq = append(r.jq, code)
			}
		}
		for _, m := range d.ManagedFieldsManagers {
			r.managers[m] = true
		}
		n.rules = append(n.rules, r)
	}
	return n
}

// WithLimits returns a copy of n bounding each jq run by timeout and
// maxPaths.
func (n *Normalizer) WithLimits(timeout time.Duration, maxPaths int) *Normalizer {
	if n == nil {
		return nil
	}
	c := *n
	c.timeout, c.maxPaths = timeout, maxPaths
	return &c
}

// pointerPath turns pointer tokens into a path: a token of digits is a list
// index when the value there is a list, which is decided when the path is
// resolved (fieldpath has no "either"), so digits are kept as Index and
// resolve falls back to a map key.
func pointerPath(toks []string) fieldpath.Path {
	p := make(fieldpath.Path, len(toks))
	for i, t := range toks {
		if n, err := strconv.Atoi(t); err == nil && n >= 0 && strconv.Itoa(n) == t {
			p[i] = fieldpath.PathElement{Index: &n}
			continue
		}
		p[i] = fieldpath.PathElement{FieldName: &t}
	}
	return p
}

func (r *rule) matches(o Object) bool {
	g, _ := path.Match(r.src.Group, o.Group)
	k, _ := path.Match(r.src.Kind, o.Kind)
	return g && k && (r.src.Name == "" || r.src.Name == o.Name) &&
		(r.src.Namespace == "" || r.src.Namespace == o.Namespace)
}

// Matches reports whether any entry applies to o.
func (n *Normalizer) Matches(o Object) bool {
	if n == nil {
		return false
	}
	for i := range n.rules {
		if n.rules[i].matches(o) {
			return true
		}
	}
	return false
}

// Paths are the ignored fields of obj (an object o names): the entries'
// pointers, their jq expressions run on obj, and the fields managed lists
// (the live object's managedFields) for their managers. A jq expression
// that fails on obj (".spec.x[]" where there is no list) selects nothing,
// as it deletes nothing in Argo CD. One over its limits, or an entry that
// does not compile, is skipped too, as Argo CD skips a failing patch, but
// is also returned as an error, with the paths the others select.
func (n *Normalizer) Paths(ctx context.Context, o Object, obj map[string]any, managed []metav1.ManagedFieldsEntry) ([]fieldpath.Path, error) {
	if n == nil {
		return nil, nil
	}
	var out []fieldpath.Path
	var errs []error
	var input any
	for i := range n.rules {
		r := &n.rules[i]
		if !r.matches(o) {
			continue
		}
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		out = append(out, r.pointers...)
		for j, code := range r.jq {
			if input == nil {
				input = jqValue(obj)
			}
			ps, err := n.run(ctx, code, input)
			if err != nil {
				errs = append(errs, fmt.Errorf("ignoreDifferences: jqPathExpressions %q: %w", r.src.JQPathExpressions[j], err))
				continue
			}
			out = append(out, ps...)
		}
		out = append(out, managerPaths(managed, r.managers)...)
	}
	return out, errors.Join(errs...)
}

// run evaluates a compiled path(EXPR) on input, within the limits.
func (n *Normalizer) run(ctx context.Context, code *gojq.Code, input any) ([]fieldpath.Path, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	iter := code.RunWithContext(ctx, input)
	var out []fieldpath.Path
	for {
		v, ok := iter.Next()
		if !ok {
			return out, nil
		}
		if _, isErr := v.(error); isErr {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w: it ran for more than %s", ErrLimit, n.timeout)
			}
			// A runtime error ends the run: what it yielded so far stands.
			return out, nil
		}
		if len(out) >= n.maxPaths {
			return nil, fmt.Errorf("%w: it selects more than %d paths", ErrLimit, n.maxPaths)
		}
		if p, ok := jqPath(v); ok {
			out = append(out, p)
		}
	}
}

// jqPath converts one path(...) result: keys and indexes. Slices and
// empty paths (the whole object) are no field and are skipped.
func jqPath(v any) (fieldpath.Path, bool) {
	elems, ok := v.([]any)
	if !ok || len(elems) == 0 {
		return nil, false
	}
	p := make(fieldpath.Path, 0, len(elems))
	for _, e := range elems {
		switch e := e.(type) {
		case string:
			p = append(p, fieldpath.PathElement{FieldName: &e})
		case int:
			p = append(p, fieldpath.PathElement{Index: &e})
		case float64:
			i := int(e)
			if float64(i) != e {
				return nil, false
			}
			p = append(p, fieldpath.PathElement{Index: &i})
		default:
			return nil, false
		}
	}
	return p, true
}

// managerPaths are the leaf fields the managers own in managed.
func managerPaths(managed []metav1.ManagedFieldsEntry, managers map[string]bool) []fieldpath.Path {
	if len(managers) == 0 {
		return nil
	}
	var out []fieldpath.Path
	for _, mf := range managed {
		if !managers[mf.Manager] || mf.FieldsV1 == nil {
			continue
		}
		s, err := fieldSet(mf)
		if err != nil {
			continue // an entry that does not parse owns nothing we can name
		}
		s.Leaves().Iterate(func(p fieldpath.Path) { out = append(out, p.Copy()) })
	}
	return out
}
