package appset

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// generatorDoc is one entry of spec.generators (or of a matrix or merge).
type generatorDoc struct {
	List     *listDoc     `yaml:"list"`
	Clusters *clustersDoc `yaml:"clusters"`
	Git      *gitDoc      `yaml:"git"`
	Matrix   *combineDoc  `yaml:"matrix"`
	Merge    *combineDoc  `yaml:"merge"`
	// scmProvider, pullRequest, plugin and clusterDecisionResource are
	// found by presentKinds and skipped.

	// Selector filters the generator's parameter sets (a post selector).
	Selector *selectorDoc `yaml:"selector"`
}

type listDoc struct {
	Elements     []yamlv3.Node `yaml:"elements"`
	ElementsYaml string        `yaml:"elementsYaml"`
	Template     yamlv3.Node   `yaml:"template"`
}

type clustersDoc struct {
	Selector selectorDoc       `yaml:"selector"`
	Values   map[string]string `yaml:"values"`
	Template yamlv3.Node       `yaml:"template"`
}

type combineDoc struct {
	Generators []yamlv3.Node `yaml:"generators"`
	MergeKeys  []string      `yaml:"mergeKeys"`
	Template   yamlv3.Node   `yaml:"template"`
}

// unsupported are the generators that need a service ferry does not call.
var unsupported = []struct{ key, why string }{
	{"scmProvider", "it lists repositories through an SCM provider's API"},
	{"pullRequest", "it lists pull requests through a forge's API"},
	{"plugin", "it calls a plugin service"},
	{"clusterDecisionResource", "it reads a decision resource from the cluster"},
}

// generated is what one top-level generator yields.
type generated struct {
	sets     []map[string]any
	template *yamlv3.Node
}

// transform runs one top-level generator: its parameter sets, and the
// template they render (the generator's own laid over the spec's).
func (x *expander) transform(n *yamlv3.Node, where string) (*generated, string, error) {
	sets, own, skip, err := x.params(n, where, nil, 0)
	if err != nil || skip != "" {
		return nil, skip, err
	}
	return &generated{sets: sets, template: mergeTemplate(own, &x.spec.Template)}, "", nil
}

// params runs one generator. inherited, when not nil, are a matrix's first
// parameter set: the generator is rendered with them first, so it may use
// them. It returns the parameter sets, the generator's own template, or a
// reason it was skipped.
func (x *expander) params(n *yamlv3.Node, where string, inherited map[string]any, depth int) ([]map[string]any, *yamlv3.Node, string, error) {
	if depth > x.budget.lim.Depth {
		return nil, nil, "", atLine(n, fmt.Errorf("%s: %w: matrix and merge generators nest deeper than %d", where, errLimit, x.budget.lim.Depth))
	}
	if len(inherited) > 0 {
		rendered, err := x.render(n, inherited)
		if err != nil {
			return nil, nil, "", fmt.Errorf("%s: %w", where, err)
		}
		n = rendered
	}
	var g generatorDoc
	if err := n.Decode(&g); err != nil {
		return nil, nil, "", atLine(n, fmt.Errorf("%s: %w", where, err))
	}
	kinds := presentKinds(n)
	if len(kinds) != 1 {
		return nil, nil, "", atLine(n, fmt.Errorf("%s: a generator needs exactly one kind, found %d (%s)", where, len(kinds), strings.Join(kinds, ", ")))
	}
	for _, u := range unsupported {
		if kinds[0] == u.key {
			return nil, nil, fmt.Sprintf("line %d: %s: the %s generator is not expanded by ferry (%s); the Applications it generates are not discovered", n.Line, where, u.key, u.why), nil
		}
	}
	sets, own, skip, err := x.generate(&g, n, where, depth)
	if err != nil || skip != "" {
		return nil, nil, skip, err
	}
	if len(sets) > x.budget.lim.ParamSets {
		return nil, nil, "", atLine(n, fmt.Errorf("%s: %w: more than %d parameter sets", where, errLimit, x.budget.lim.ParamSets))
	}
	if g.Selector != nil {
		if sets, err = x.selectParams(g.Selector, sets); err != nil {
			return nil, nil, "", atLine(n, fmt.Errorf("%s.selector: %w", where, err))
		}
	}
	return sets, own, "", nil
}

// generate dispatches on the generator's kind.
func (x *expander) generate(g *generatorDoc, n *yamlv3.Node, where string, depth int) ([]map[string]any, *yamlv3.Node, string, error) {
	switch {
	case g.List != nil:
		sets, err := x.list(g.List)
		return sets, &g.List.Template, "", atLine(n, wrapWhere(where+".list", err))
	case g.Clusters != nil:
		sets, err := x.clusters(g.Clusters)
		return sets, &g.Clusters.Template, "", atLine(n, wrapWhere(where+".clusters", err))
	case g.Git != nil:
		sets, skip, err := x.git(g.Git, n, where+".git")
		return sets, &g.Git.Template, skip, atLine(n, wrapWhere(where+".git", err))
	case g.Matrix != nil:
		sets, skip, err := x.matrix(g.Matrix, field(n, "matrix"), where+".matrix", depth)
		return sets, &g.Matrix.Template, skip, atLine(n, err)
	case g.Merge != nil:
		sets, skip, err := x.merge(g.Merge, field(n, "merge"), where+".merge", depth)
		return sets, &g.Merge.Template, skip, atLine(n, err)
	}
	return nil, nil, "", atLine(n, fmt.Errorf("%s: no generator", where))
}

func wrapWhere(where string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", where, err)
}

// presentKinds lists the generator kinds set in a generator mapping.
func presentKinds(n *yamlv3.Node) []string {
	var out []string
	for _, k := range []string{"list", "clusters", "git", "matrix", "merge", "scmProvider", "pullRequest", "plugin", "clusterDecisionResource"} {
		if v := field(n, k); v != nil && !(v.Kind == yamlv3.ScalarNode && v.ShortTag() == "!!null") {
			out = append(out, k)
		}
	}
	return out
}

// list is the list generator: each element is a parameter set.
// Under fasttemplate every value must be a string (values.* too), as in
// Argo CD; elementsYaml is a YAML list appended as it is.
func (x *expander) list(l *listDoc) ([]map[string]any, error) {
	var out []map[string]any
	for i := range l.Elements {
		v, err := jsonValue(&l.Elements[i])
		if err != nil {
			return nil, atLine(&l.Elements[i], fmt.Errorf("elements[%d]: %w", i, err))
		}
		el, ok := v.(map[string]any)
		if !ok {
			return nil, atLine(&l.Elements[i], fmt.Errorf("elements[%d] is not a mapping", i))
		}
		if !x.spec.GoTemplate {
			if el, err = stringParams(el); err != nil {
				return nil, atLine(&l.Elements[i], fmt.Errorf("elements[%d]: %w", i, err))
			}
		}
		out = append(out, el)
	}
	if l.ElementsYaml != "" {
		var more []map[string]any
		if err := yaml.Unmarshal([]byte(l.ElementsYaml), &more); err != nil {
			return nil, fmt.Errorf("elementsYaml: %w", err)
		}
		out = append(out, more...)
	}
	return out, nil
}

// stringParams checks a fasttemplate list element: string values, and
// values.* from a "values" mapping of strings.
func stringParams(el map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range el {
		if k == "values" {
			vals, ok := v.(map[string]any)
			if !ok {
				return nil, errors.New(`"values" is not a mapping`)
			}
			for vk, vv := range vals {
				s, ok := vv.(string)
				if !ok {
					return nil, fmt.Errorf("values.%s is not a string (fasttemplate takes only strings; quote it or use goTemplate)", vk)
				}
				out["values."+vk] = s
			}
			continue
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s is not a string (fasttemplate takes only strings; quote it or use goTemplate)", k)
		}
		out[k] = s
	}
	return out, nil
}

// clusters is the clusters generator over Options.Clusters.
func (x *expander) clusters(c *clustersDoc) ([]map[string]any, error) {
	var out []map[string]any
	for _, cl := range x.opts.Clusters {
		labels := secretLabels(cl.Labels)
		ok, err := c.Selector.matches(labels)
		if err != nil {
			return nil, fmt.Errorf("selector: %w", err)
		}
		if !ok {
			continue
		}
		p := map[string]any{"name": cl.Name, "nameNormalized": sanitizeName(cl.Name), "server": cl.Server}
		if x.spec.GoTemplate {
			// As Argo CD: labels and annotations are the secret's string
			// maps, each present only when not empty.
			meta := map[string]any{"labels": labels}
			if len(cl.Annotations) > 0 {
				meta["annotations"] = maps.Clone(cl.Annotations)
			}
			p["metadata"] = meta
		} else {
			for k, v := range labels {
				p["metadata.labels."+k] = v
			}
			for k, v := range cl.Annotations {
				p["metadata.annotations."+k] = v
			}
		}
		if err := x.values(c.Values, p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// secretTypeLabel is the label every Argo CD cluster secret carries, which
// selectors (and templates) may name.
const secretTypeLabel = "argocd.argoproj.io/secret-type"

// secretLabels are a cluster's labels as its Argo CD secret has them.
func secretLabels(labels map[string]string) map[string]string {
	out := maps.Clone(labels)
	if out == nil {
		out = map[string]string{}
	}
	if _, ok := out[secretTypeLabel]; !ok {
		out[secretTypeLabel] = "cluster"
	}
	return out
}

// values adds a generator's values, each rendered with the parameters, as
// values.<key> (fasttemplate) or .values.<key> (goTemplate).
func (x *expander) values(values map[string]string, p map[string]any) error {
	if len(values) == 0 {
		return nil
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rendered := map[string]any{}
	for _, k := range keys {
		v, err := x.tpl.replace(values[k], p)
		if err != nil {
			return fmt.Errorf("values.%s: %w", k, err)
		}
		rendered[k] = v
	}
	if x.spec.GoTemplate {
		p["values"] = rendered
		return nil
	}
	for k, v := range rendered {
		p["values."+k] = v
	}
	return nil
}

// jsonValue converts a YAML node to the JSON types Argo CD sees
// (map[string]any, []any, float64, string, bool, nil).
func jsonValue(n *yamlv3.Node) (any, error) {
	b, err := yamlv3.Marshal(n)
	if err != nil {
		return nil, err
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		return nil, err
	}
	var v any
	return v, json.Unmarshal(j, &v)
}
