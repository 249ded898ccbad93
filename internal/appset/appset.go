// Package appset expands Argo CD ApplicationSets into the Applications they
// generate, as the ApplicationSet controller would: generators (list, git
// directories and files, clusters, matrix, merge) produce parameter sets,
// and the template (fasttemplate or Go template) turns each into an
// Application. It reads a repository tree and returns data; it never talks
// to a cluster or to GitHub.
//
// The git generators read the tree they are given, whatever their revision
// says: ferry expands an ApplicationSet at each side of a pull request, so a
// pull request that adds a directory shows the Application it would add.
// Generators that need an outside service (scmProvider, pullRequest, plugin,
// clusterDecisionResource) and git generators over another repository are
// listed as skipped, not expanded.
package appset

import (
	"encoding/json"
	"errors"
	"fmt"

	yamlv3 "go.yaml.in/yaml/v3"
)

// Cluster is a cluster the clusters generator may select, as Argo CD's
// cluster secrets describe one: a name, a server URL and labels. Like a
// cluster secret it also carries the label
// argocd.argoproj.io/secret-type=cluster.
type Cluster struct {
	Name   string            `json:"name"`
	Server string            `json:"server"`
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations are offered to templates as metadata.annotations.
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Tree is the repository the git generators read; *repofs.Tree is one.
// Paths are slash-separated and relative to the root.
type Tree interface {
	Files() []string
	ReadFile(name string) ([]byte, error)
	IsDir(name string) bool
}

// Options tunes Expand.
type Options struct {
	// RepoURL is the repository the tree is. A git generator whose repoURL
	// names another repository is skipped; "" takes every git generator to
	// read this one.
	RepoURL string
	// Clusters are every cluster the clusters generator may select, in
	// order. Argo CD's implicit in-cluster entry is not added: list it here
	// when it is a deployment target.
	Clusters []Cluster
	// SameRepo reports whether two repository URLs name one repository;
	// nil compares them as strings.
	SameRepo func(a, b string) bool
}

// Expansion is what one ApplicationSet generates.
type Expansion struct {
	// Name is the ApplicationSet's metadata.name.
	Name string
	// Applications are in generator order, then parameter-set order.
	Applications []Generated
	// Skipped says which generators were not expanded, and why.
	Skipped []string
}

// Generated is one generated Application.
type Generated struct {
	Name string
	// Node is the Application document: a mapping with apiVersion, kind,
	// metadata and spec.
	Node *yamlv3.Node
	// From names the generator and parameter set that made it.
	From string
}

// Expand returns the Applications the ApplicationSet at root (a mapping
// node read from file) generates. An error means the whole ApplicationSet
// generates nothing, as in Argo CD; it names file and line.
func Expand(tree Tree, file string, root *yamlv3.Node, opts Options) (*Expansion, error) {
	return expand(tree, file, root, opts, defaultLimits)
}

func expand(tree Tree, file string, root *yamlv3.Node, opts Options, lim limits) (*Expansion, error) {
	spec, err := decodeSpec(root)
	if err != nil {
		return nil, located(file, root, spec.Name, err)
	}
	if opts.SameRepo == nil {
		opts.SameRepo = func(a, b string) bool { return a == b }
	}
	b := newBudget(lim)
	x := &expander{tree: tree, opts: opts, spec: spec, budget: b,
		tpl: newTemplater(spec.GoTemplate, spec.GoTemplateOptions, b)}
	out := &Expansion{Name: spec.Name}
	for i := range spec.Generators {
		where := fmt.Sprintf("spec.generators[%d]", i)
		g, skip, err := x.transform(&spec.Generators[i], where)
		if err != nil {
			return nil, located(file, root, spec.Name, err)
		}
		if skip != "" {
			out.Skipped = append(out.Skipped, skip)
			continue
		}
		for _, set := range g.sets {
			app, err := x.application(g.template, set)
			if err != nil {
				return nil, located(file, root, spec.Name, err)
			}
			if err := b.spend(len(set)/4 + 1); err != nil {
				return nil, located(file, root, spec.Name, err)
			}
			app.From = where + " " + describe(set)
			if len(out.Applications) >= lim.Applications {
				return nil, located(file, root, spec.Name, fmt.Errorf("%w: it generates more than %d Applications", errLimit, lim.Applications))
			}
			out.Applications = append(out.Applications, app)
		}
	}
	if err := duplicates(out.Applications); err != nil {
		return nil, located(file, root, spec.Name, err)
	}
	return out, nil
}

// duplicates refuses two Applications of one name, as Argo CD does (the
// whole ApplicationSet then generates nothing), naming both sources.
func duplicates(apps []Generated) error {
	seen := map[string]int{}
	for i, a := range apps {
		if j, ok := seen[a.Name]; ok {
			return fmt.Errorf("it generates two Applications named %q, from %s and from %s; Argo CD refuses the whole ApplicationSet",
				a.Name, apps[j].From, a.From)
		}
		seen[a.Name] = i
	}
	return nil
}

// expander is one ApplicationSet being expanded.
type expander struct {
	tree   Tree
	opts   Options
	spec   *specDoc
	budget *budget
	tpl    *templater
	// files and dirs are the tree's, listed once.
	files, dirs []string
}

// maxDescribe caps how much of a parameter set a message quotes.
const maxDescribe = 240

// describe quotes a parameter set for messages, as compact JSON (sorted keys).
func describe(set map[string]any) string {
	b, err := json.Marshal(set)
	if err != nil {
		return "(parameters not printable)"
	}
	if r := []rune(string(b)); len(r) > maxDescribe {
		return string(r[:maxDescribe]) + "…"
	}
	return string(b)
}

// lineError carries the line of the node an error is about.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return e.err.Error() }
func (e *lineError) Unwrap() error { return e.err }

// atLine attaches n's line to err unless a more precise one is there.
func atLine(n *yamlv3.Node, err error) error {
	var le *lineError
	if err == nil || errors.As(err, &le) || n == nil || n.Line == 0 {
		return err
	}
	return &lineError{line: n.Line, err: err}
}

// Error is why an ApplicationSet generates nothing, and where.
type Error struct {
	File string
	// Line is the line of the part at fault (a generator, a template
	// string), else the ApplicationSet's.
	Line int
	// Name is the ApplicationSet's metadata.name.
	Name string
	Err  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d: ApplicationSet %q: %v", e.File, e.Line, e.Name, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// located makes err name the file, line and ApplicationSet.
func located(file string, root *yamlv3.Node, name string, err error) error {
	line := root.Line
	var le *lineError
	if errors.As(err, &le) {
		line = le.line
	}
	return &Error{File: file, Line: line, Name: name, Err: err}
}
