package appset

import (
	"fmt"
	"slices"
	"strconv"
)

// selectorDoc is a Kubernetes label selector. As in Argo CD, values are not
// checked against label syntax, so a selector may match cluster URLs.
type selectorDoc struct {
	MatchLabels      map[string]string `yaml:"matchLabels"`
	MatchExpressions []struct {
		Key      string   `yaml:"key"`
		Operator string   `yaml:"operator"`
		Values   []string `yaml:"values"`
	} `yaml:"matchExpressions"`
}

// matches reports whether labels satisfy the selector; an empty selector
// matches everything.
func (s *selectorDoc) matches(labels map[string]string) (bool, error) {
	for k, v := range s.MatchLabels {
		if got, ok := labels[k]; !ok || got != v {
			return false, nil
		}
	}
	for _, e := range s.MatchExpressions {
		got, has := labels[e.Key]
		switch e.Operator {
		case "In", "NotIn":
			if len(e.Values) == 0 {
				return false, fmt.Errorf("matchExpressions %q: operator %s needs values", e.Key, e.Operator)
			}
			in := has && slices.Contains(e.Values, got)
			if in != (e.Operator == "In") {
				return false, nil
			}
		case "Exists", "DoesNotExist":
			if len(e.Values) > 0 {
				return false, fmt.Errorf("matchExpressions %q: operator %s takes no values", e.Key, e.Operator)
			}
			if has != (e.Operator == "Exists") {
				return false, nil
			}
		default:
			return false, fmt.Errorf("matchExpressions %q: %q is not an operator (In, NotIn, Exists, DoesNotExist)", e.Key, e.Operator)
		}
	}
	return true, nil
}

// selectParams keeps the parameter sets a generator's selector matches,
// the parameters flattened (a.b.c) and printed as strings, as Argo CD
// matches them.
func (x *expander) selectParams(s *selectorDoc, sets []map[string]any) ([]map[string]any, error) {
	var out []map[string]any
	for _, p := range sets {
		flat := map[string]string{}
		flatten("", p, flat)
		ok, err := s.matches(flat)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// flatten writes v's leaves into out under dotted keys (lists by index),
// printed with %v, as Argo CD flattens parameters for fasttemplate and
// for selectors. Empty maps and lists add nothing.
func flatten(prefix string, v any, out map[string]string) {
	key := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			flatten(key(k), e, out)
		}
	case []any:
		for i, e := range v {
			flatten(key(strconv.Itoa(i)), e, out)
		}
	default:
		out[prefix] = fmt.Sprintf("%v", v)
	}
}
