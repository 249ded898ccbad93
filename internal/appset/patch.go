package appset

import (
	"errors"
	"fmt"
	"math"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// patch applies the ApplicationSet's templatePatch to one rendered
// template: the patch is rendered with the parameters as a whole string
// (so it may use {{ if }} and {{ range }} around fields), read as YAML,
// and merged into the Application as a JSON merge patch: mappings merge,
// lists and other values are replaced, null removes a field. Argo CD
// applies it as a strategic merge patch against the Application type,
// which has no list merge keys, so the two agree.
func (x *expander) patch(app *yamlv3.Node, params map[string]any) (*yamlv3.Node, error) {
	text, err := x.tpl.replace(*x.spec.TemplatePatch, params)
	if err != nil {
		return nil, err
	}
	var p any
	if err := yaml.Unmarshal([]byte(text), &p); err != nil {
		return nil, fmt.Errorf("the rendered patch is not YAML: %w", err)
	}
	if p == nil {
		return app, nil
	}
	pm, ok := p.(map[string]any)
	if !ok {
		return nil, errors.New("the rendered patch is not a mapping")
	}
	v, err := jsonValue(app)
	if err != nil {
		return nil, err
	}
	base, _ := v.(map[string]any)
	var out yamlv3.Node
	if err := out.Encode(integers(mergePatch(base, pm))); err != nil {
		return nil, fmt.Errorf("patched Application: %w", err)
	}
	return &out, nil
}

// mergePatch applies an RFC 7386 JSON merge patch to a copy of doc.
func mergePatch(doc, patch map[string]any) map[string]any {
	out := make(map[string]any, len(doc)+len(patch))
	for k, v := range doc {
		out[k] = v
	}
	for k, v := range patch {
		if v == nil {
			delete(out, k)
			continue
		}
		pm, pOK := v.(map[string]any)
		dm, dOK := out[k].(map[string]any)
		switch {
		case pOK && dOK:
			out[k] = mergePatch(dm, pm)
		case pOK:
			out[k] = mergePatch(map[string]any{}, pm)
		default:
			out[k] = v
		}
	}
	return out
}

// integers turns whole JSON numbers back into integers, so fields such as
// revisionHistoryLimit read as the integers they were.
func integers(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = integers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = integers(e)
		}
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v)
		}
	}
	return v
}
