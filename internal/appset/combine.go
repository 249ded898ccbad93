package appset

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	yamlv3 "go.yaml.in/yaml/v3"
)

// matrix is the matrix generator: every parameter set of the first child
// combined with every set of the second, the second child rendered with
// the first's parameters so it may use them. Child templates are ignored,
// as in Argo CD.
func (x *expander) matrix(c *combineDoc, n *yamlv3.Node, where string, depth int) ([]map[string]any, string, error) {
	if len(c.Generators) != 2 {
		return nil, "", atLine(n, fmt.Errorf("%s: a matrix needs exactly two generators, found %d", where, len(c.Generators)))
	}
	first, _, skip, err := x.params(&c.Generators[0], where+".generators[0]", nil, depth+1)
	if err != nil || skip != "" {
		return nil, skip, err
	}
	var out []map[string]any
	for _, a := range first {
		second, _, skip, err := x.params(&c.Generators[1], where+".generators[1]", a, depth+1)
		if err != nil || skip != "" {
			return nil, skip, err
		}
		for _, b := range second {
			combined, err := x.combine(a, b)
			if err != nil {
				return nil, "", atLine(n, fmt.Errorf("%s: %w", where, err))
			}
			out = append(out, combined)
			if len(out) > x.budget.lim.ParamSets {
				return nil, "", atLine(n, fmt.Errorf("%s: %w: more than %d parameter sets", where, errLimit, x.budget.lim.ParamSets))
			}
		}
	}
	return out, "", nil
}

// combine joins a matrix's two parameter sets. Go templates merge them, the
// first's values winning; fasttemplate takes their union and refuses a key
// both set to different values.
func (x *expander) combine(a, b map[string]any) (map[string]any, error) {
	if err := x.budget.spend(len(a) + len(b)); err != nil {
		return nil, err
	}
	if x.spec.GoTemplate {
		return deepMerge(deepMerge(map[string]any{}, b), a), nil
	}
	out := map[string]any{}
	for k, v := range a {
		out[k] = fmt.Sprintf("%v", v)
	}
	for k, v := range b {
		s := fmt.Sprintf("%v", v)
		if cur, ok := out[k]; ok && cur != s {
			return nil, fmt.Errorf("found duplicate key %s with different value, a: %s ,b: %s", k, cur, s)
		}
		out[k] = s
	}
	return out, nil
}

// deepMerge lays src over a copy of dst, as mergo with override does for
// parameters: nested maps merge, a list already set in dst stays, any other
// value from src replaces dst's.
func deepMerge(dst, src map[string]any) map[string]any {
	out := make(map[string]any, len(dst)+len(src))
	for k, v := range dst {
		out[k] = v
	}
	for k, v := range src {
		cur, has := out[k]
		sm, srcMap := v.(map[string]any)
		dm, dstMap := cur.(map[string]any)
		switch {
		case srcMap && dstMap:
			out[k] = deepMerge(dm, sm)
		case has && isList(v) && nonEmptyList(cur):
		default:
			out[k] = v
		}
	}
	return out
}

func isList(v any) bool {
	switch v.(type) {
	case []any, []string:
		return true
	}
	return false
}

func nonEmptyList(v any) bool {
	switch v := v.(type) {
	case []any:
		return len(v) > 0
	case []string:
		return len(v) > 0
	}
	return false
}

// merge is the merge generator: the first child's parameter sets, each
// overridden by the sets of later children that agree with it on every
// merge key. Sets with no base counterpart are dropped, as in Argo CD.
func (x *expander) merge(c *combineDoc, n *yamlv3.Node, where string, depth int) ([]map[string]any, string, error) {
	if len(c.Generators) < 2 {
		return nil, "", atLine(n, fmt.Errorf("%s: a merge needs at least two generators, found %d", where, len(c.Generators)))
	}
	if len(c.MergeKeys) == 0 {
		return nil, "", atLine(n, fmt.Errorf("%s: mergeKeys is empty", where))
	}
	var base []map[string]any
	var baseKeys []string
	byKey := map[string]map[string]any{}
	for i := range c.Generators {
		child := fmt.Sprintf("%s.generators[%d]", where, i)
		sets, _, skip, err := x.params(&c.Generators[i], child, nil, depth+1)
		if err != nil || skip != "" {
			return nil, skip, err
		}
		keyed, order, err := x.byMergeKeys(c.MergeKeys, sets)
		if err != nil {
			return nil, "", atLine(n, fmt.Errorf("%s: %w", child, err))
		}
		if i == 0 {
			byKey, baseKeys = keyed, order
			continue
		}
		for _, k := range baseKeys {
			if over, ok := keyed[k]; ok {
				if byKey[k], err = x.override(byKey[k], over); err != nil {
					return nil, "", atLine(n, fmt.Errorf("%s: %w", where, err))
				}
			}
		}
	}
	for _, k := range baseKeys {
		base = append(base, byKey[k])
	}
	return base, "", nil
}

// override lays one merge parameter set over another.
func (x *expander) override(base, over map[string]any) (map[string]any, error) {
	if err := x.budget.spend(len(base) + len(over)); err != nil {
		return nil, err
	}
	if x.spec.GoTemplate {
		return deepMerge(base, over), nil
	}
	out := map[string]any{}
	for k, v := range base {
		out[k] = fmt.Sprintf("%v", v)
	}
	for k, v := range over {
		out[k] = fmt.Sprintf("%v", v)
	}
	return out, nil
}

// byMergeKeys indexes parameter sets by their merge-key values, refusing
// two sets with the same ones.
func (x *expander) byMergeKeys(keys []string, sets []map[string]any) (map[string]map[string]any, []string, error) {
	uniq := append([]string(nil), keys...)
	sort.Strings(uniq)
	out := map[string]map[string]any{}
	var order []string
	for _, set := range sets {
		k := map[string]any{}
		for _, key := range uniq {
			// Top-level parameters only, as Argo CD looks them up.
			k[key] = set[key]
		}
		b, err := json.Marshal(k)
		if err != nil {
			return nil, nil, fmt.Errorf("merge keys: %w", err)
		}
		if _, dup := out[string(b)]; dup {
			return nil, nil, errors.New("the parameter sets are not unique by the mergeKeys (a merge requires them unique); duplicate key " + string(b))
		}
		out[string(b)] = set
		order = append(order, string(b))
	}
	return out, order, nil
}
