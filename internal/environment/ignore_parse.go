package environment

import (
	"fmt"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
)

// ignoreDifferences decodes and validates spec.ignoreDifferences, so that a
// bad entry (a JSON pointer that does not parse, a jq expression that does
// not compile) is reported with its line when the Application is read,
// not when drift first meets it. The reason is "" when it is fine.
func ignoreDifferences(node *yamlv3.Node, app string) ([]IgnoreDifference, string) {
	if node.Kind == 0 || (node.Kind == yamlv3.ScalarNode && node.ShortTag() == "!!null") {
		return nil, ""
	}
	if node.Kind != yamlv3.SequenceNode {
		return nil, fmt.Sprintf("Application %q: spec.ignoreDifferences (line %d) is not a list", app, node.Line)
	}
	out := make([]IgnoreDifference, 0, len(node.Content))
	for i, item := range node.Content {
		if k := unknownKey(item); k != nil {
			return nil, fmt.Sprintf("Application %q: spec.ignoreDifferences[%d] (line %d): unknown field %q", app, i, k.Line, k.Value)
		}
		var doc ignoreDoc
		if err := item.Decode(&doc); err != nil {
			return nil, fmt.Sprintf("Application %q: spec.ignoreDifferences[%d] (line %d): %v", app, i, item.Line, err)
		}
		d := IgnoreDifference(doc)
		if err := d.Validate(); err != nil {
			return nil, fmt.Sprintf("Application %q: spec.ignoreDifferences[%d] (line %d): %v", app, i, fieldLine(item, err), err)
		}
		out = append(out, d)
	}
	return out, ""
}

// fieldLine is the line of the list under item that err is about
// (jsonPointers, jqPathExpressions...), else item's own.
func fieldLine(item *yamlv3.Node, err error) int {
	for i := 0; i+1 < len(item.Content); i += 2 {
		k, v := item.Content[i], item.Content[i+1]
		if v.Kind != yamlv3.SequenceNode {
			continue
		}
		for j, x := range v.Content {
			if strings.HasPrefix(err.Error(), fmt.Sprintf("%s[%d]", k.Value, j)) {
				return x.Line
			}
		}
	}
	return item.Line
}

// ignoreKeys are the fields of an ignoreDifferences entry.
var ignoreKeys = map[string]bool{"group": true, "kind": true, "name": true, "namespace": true,
	"jsonPointers": true, "jqPathExpressions": true, "managedFieldsManagers": true}

// unknownKey is the first key of a mapping item that is no field of an
// entry ("jsonPointer" for jsonPointers would otherwise ignore nothing,
// silently), or nil.
func unknownKey(item *yamlv3.Node) *yamlv3.Node {
	if item.Kind != yamlv3.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(item.Content); i += 2 {
		if k := item.Content[i]; !ignoreKeys[k.Value] {
			return k
		}
	}
	return nil
}

// ignoreDoc is IgnoreDifference as YAML spells it.
type ignoreDoc struct {
	Group                 string   `yaml:"group"`
	Kind                  string   `yaml:"kind"`
	Name                  string   `yaml:"name"`
	Namespace             string   `yaml:"namespace"`
	JSONPointers          []string `yaml:"jsonPointers"`
	JQPathExpressions     []string `yaml:"jqPathExpressions"`
	ManagedFieldsManagers []string `yaml:"managedFieldsManagers"`
}
