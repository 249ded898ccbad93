package environment

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
)

// directoryDoc is spec.source.directory as written in an Application. It
// decodes field by field so that an error names the field and its line.
type directoryDoc struct {
	src DirectorySource
}

// source returns the settings, or nil for an empty block (which still
// makes the source a plain directory).
func (d *directoryDoc) source() *DirectorySource {
	if d == nil {
		return nil
	}
	s := d.src
	if !s.Recurse && s.Include == "" && s.Exclude == "" && s.Jsonnet == nil {
		return nil
	}
	return &s
}

// UnmarshalYAML implements yamlv3.Unmarshaler.
func (d *directoryDoc) UnmarshalYAML(n *yamlv3.Node) error {
	fields, err := mappingFields(n, "directory")
	if err != nil {
		return err
	}
	for _, f := range fields {
		name := "directory." + f.key
		switch f.key {
		case "recurse":
			err = decodeField(f.value, name, &d.src.Recurse)
		case "include":
			err = decodeField(f.value, name, &d.src.Include)
		case "exclude":
			err = decodeField(f.value, name, &d.src.Exclude)
		case "jsonnet":
			d.src.Jsonnet, err = decodeJsonnet(f.value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func decodeJsonnet(n *yamlv3.Node) (*JsonnetSource, error) {
	if n.ShortTag() == "!!null" {
		return nil, nil
	}
	fields, err := mappingFields(n, "directory.jsonnet")
	if err != nil {
		return nil, err
	}
	out := &JsonnetSource{}
	for _, f := range fields {
		name := "directory.jsonnet." + f.key
		switch f.key {
		case "extVars":
			out.ExtVars, err = decodeJsonnetVars(f.value, name)
		case "tlas":
			out.TLAs, err = decodeJsonnetVars(f.value, name)
		case "libs":
			err = decodeField(f.value, name, &out.Libs)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// decodeJsonnetVars reads extVars or tlas: a list of {name, value, code}.
func decodeJsonnetVars(n *yamlv3.Node, name string) ([]JsonnetVar, error) {
	if n.ShortTag() == "!!null" {
		return nil, nil
	}
	if n.Kind != yamlv3.SequenceNode {
		return nil, fmt.Errorf("line %d: %s: expected a list of {name, value, code}", n.Line, name)
	}
	out := make([]JsonnetVar, 0, len(n.Content))
	for i, item := range n.Content {
		at := fmt.Sprintf("%s[%d]", name, i)
		var v struct {
			Name  string `yaml:"name"`
			Value string `yaml:"value"`
			Code  bool   `yaml:"code"`
		}
		if err := decodeField(item, at, &v); err != nil {
			return nil, err
		}
		if v.Name == "" {
			return nil, fmt.Errorf("line %d: %s: name is required", item.Line, at)
		}
		out = append(out, JsonnetVar{Name: v.Name, Value: v.Value, Code: v.Code})
	}
	return out, nil
}

type mappingField struct {
	key   string
	value *yamlv3.Node
}

// mappingFields returns the key/value pairs of a mapping node.
func mappingFields(n *yamlv3.Node, name string) ([]mappingField, error) {
	if n.Kind == yamlv3.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yamlv3.MappingNode {
		return nil, fmt.Errorf("line %d: %s: expected a mapping", n.Line, name)
	}
	out := make([]mappingField, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, mappingField{key: n.Content[i].Value, value: n.Content[i+1]})
	}
	return out, nil
}

// decodeField decodes one field, naming it and its line (the line of the
// offending value within it, when yaml.v3 says) on error.
func decodeField(n *yamlv3.Node, name string, out any) error {
	err := n.Decode(out)
	if err == nil {
		return nil
	}
	msg := err.Error()
	if te := (*yamlv3.TypeError)(nil); errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	line := n.Line
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if digits, after, found := strings.Cut(rest, ": "); found {
			if l, convErr := strconv.Atoi(digits); convErr == nil {
				line, msg = l, after
			}
		}
	}
	return fmt.Errorf("line %d: %s: %s", line, name, msg)
}
