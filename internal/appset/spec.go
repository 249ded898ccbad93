package appset

import (
	"errors"
	"fmt"

	yamlv3 "go.yaml.in/yaml/v3"
)

// specDoc is the part of an ApplicationSet ferry reads. syncPolicy (and
// with it preserveResourcesOnDeletion), strategy and preservedFields say
// how the controller applies Applications, not which, and are ignored.
type specDoc struct {
	Name      string `yaml:"-"`
	Namespace string `yaml:"-"`

	GoTemplate        bool          `yaml:"goTemplate"`
	GoTemplateOptions []string      `yaml:"goTemplateOptions"`
	Generators        []yamlv3.Node `yaml:"generators"`
	Template          yamlv3.Node   `yaml:"template"`
	TemplatePatch     *string       `yaml:"templatePatch"`
	templatePatchNode *yamlv3.Node
}

// decodeSpec reads an ApplicationSet document.
func decodeSpec(root *yamlv3.Node) (*specDoc, error) {
	var doc struct {
		Metadata struct {
			Name      string `yaml:"name"`
			Namespace string `yaml:"namespace"`
		} `yaml:"metadata"`
		Spec yamlv3.Node `yaml:"spec"`
	}
	spec := &specDoc{}
	if root == nil || root.Kind != yamlv3.MappingNode {
		return spec, errors.New("not a mapping")
	}
	if err := root.Decode(&doc); err != nil {
		return spec, fmt.Errorf("metadata: %w", err)
	}
	spec.Name, spec.Namespace = doc.Metadata.Name, doc.Metadata.Namespace
	if doc.Spec.Kind != yamlv3.MappingNode {
		return spec, atLine(root, errors.New("spec is missing or not a mapping"))
	}
	if err := doc.Spec.Decode(spec); err != nil {
		return spec, atLine(&doc.Spec, fmt.Errorf("spec: %w", err))
	}
	spec.templatePatchNode = field(&doc.Spec, "templatePatch")
	for _, o := range spec.GoTemplateOptions {
		switch o {
		case "missingkey=default", "missingkey=invalid", "missingkey=zero", "missingkey=error":
		default:
			return spec, atLine(field(&doc.Spec, "goTemplateOptions"), fmt.Errorf("goTemplateOptions: %q is not a Go template option (missingkey=default, invalid, zero or error)", o))
		}
	}
	if spec.TemplatePatch != nil && !spec.GoTemplate {
		return spec, atLine(spec.templatePatchNode, errors.New("templatePatch needs goTemplate: true, as in Argo CD"))
	}
	if len(spec.Generators) == 0 {
		return spec, atLine(&doc.Spec, errors.New("spec.generators is empty"))
	}
	return spec, nil
}

// field returns the value of key in mapping m, or nil.
func field(m *yamlv3.Node, key string) *yamlv3.Node {
	if m == nil || m.Kind != yamlv3.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// empty reports whether a template value is unset, as mergo sees a zero
// value: absent, null, "", false or 0.
func empty(n *yamlv3.Node) bool {
	if n == nil || n.Kind == 0 {
		return true
	}
	if n.Kind == yamlv3.ScalarNode {
		tag := n.ShortTag()
		return tag == "!!null" || (tag == "!!str" && n.Value == "") || (tag == "!!bool" && n.Value == "false") ||
			(tag == "!!int" && n.Value == "0")
	}
	return (n.Kind == yamlv3.MappingNode || n.Kind == yamlv3.SequenceNode) && len(n.Content) == 0
}

// mergeTemplate lays a generator's own template over the ApplicationSet's,
// as Argo CD does (mergo): the generator's set fields win, mappings merge,
// everything else the generator leaves unset comes from the base.
func mergeTemplate(over, base *yamlv3.Node) *yamlv3.Node {
	switch {
	case empty(over):
		return base
	case empty(base):
		return over
	case over.Kind != yamlv3.MappingNode || base.Kind != yamlv3.MappingNode:
		return over
	}
	out := &yamlv3.Node{Kind: yamlv3.MappingNode, Tag: "!!map", Line: over.Line, Column: over.Column}
	for i := 0; i+1 < len(base.Content); i += 2 {
		k, v := base.Content[i], base.Content[i+1]
		out.Content = append(out.Content, k, mergeTemplate(field(over, k.Value), v))
	}
	for i := 0; i+1 < len(over.Content); i += 2 {
		if field(base, over.Content[i].Value) == nil {
			out.Content = append(out.Content, over.Content[i], over.Content[i+1])
		}
	}
	return out
}

// application renders the template with one parameter set into an
// Application document, then applies the templatePatch.
func (x *expander) application(tpl *yamlv3.Node, params map[string]any) (Generated, error) {
	if empty(tpl) {
		return Generated{}, errors.New("it has no template")
	}
	rendered, err := x.render(tpl, params)
	if err != nil {
		return Generated{}, err
	}
	if x.spec.TemplatePatch != nil {
		if rendered, err = x.patch(rendered, params); err != nil {
			return Generated{}, atLine(x.spec.templatePatchNode, fmt.Errorf("templatePatch: %w", err))
		}
	}
	doc := &yamlv3.Node{Kind: yamlv3.MappingNode, Tag: "!!map"}
	add := func(k string, v *yamlv3.Node) {
		doc.Content = append(doc.Content, &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!str", Value: k}, v)
	}
	add("apiVersion", str("argoproj.io/v1alpha1"))
	add("kind", str("Application"))
	meta := field(rendered, "metadata")
	if meta == nil || meta.Kind != yamlv3.MappingNode {
		meta = &yamlv3.Node{Kind: yamlv3.MappingNode, Tag: "!!map"}
	}
	// The Application lives in the ApplicationSet's namespace.
	meta = setField(meta, "namespace", x.spec.Namespace)
	add("metadata", meta)
	if spec := field(rendered, "spec"); spec != nil {
		add("spec", spec)
	}
	name := ""
	if n := field(meta, "name"); n != nil && n.Kind == yamlv3.ScalarNode {
		name = n.Value
	}
	// A nameless Application is refused later, on its own, as Argo CD's
	// API server would refuse it.
	return Generated{Name: name, Node: doc}, nil
}

func str(v string) *yamlv3.Node {
	return &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!str", Value: v}
}

// setField returns m with key set to value (dropped when value is "").
func setField(m *yamlv3.Node, key, value string) *yamlv3.Node {
	out := &yamlv3.Node{Kind: yamlv3.MappingNode, Tag: "!!map", Line: m.Line, Column: m.Column}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key {
			out.Content = append(out.Content, m.Content[i], m.Content[i+1])
		}
	}
	if value != "" {
		out.Content = append(out.Content, str(key), str(value))
	}
	return out
}
