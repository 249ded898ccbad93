package kustomization

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/kyaml/resid"
)

// Doc is one document of a YAML stream that feeds generator, transformer
// or validator configurations (a file a plugin entry names, or the entry
// itself).
type Doc struct {
	// Line is where the document starts.
	Line int
	// URL is the first URL anywhere in it, keys included; "" if none.
	URL string

	value any
}

// DecodeDocs decodes every document of a YAML stream, resolving anchors.
// Errors are yaml.v3's.
func DecodeDocs(data []byte) ([]Doc, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []Doc
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, err
		}
		v = normalizeKeys(v)
		out = append(out, Doc{Line: n.Line, URL: findURL(v), value: v})
	}
}

// PluginConfig is a document read as a plugin's configuration.
type PluginConfig struct {
	APIVersion, Kind string
	// Builtin is set for kustomize's own generators and transformers
	// (apiVersion builtin, no group).
	Builtin bool
	// Function is set for a configuration annotated as a KRM function
	// (exec, container or starlark).
	Function bool
	// Refs are the files a builtin configuration names (Kind YAMLFile or
	// DataFile; Field the key, lower-cased), in the order of its keys.
	// Entries of "paths" may be inline patches rather than paths.
	Refs []Ref
}

// functionAnnotations mark a configuration as a KRM function rather than a
// Go plugin.
var functionAnnotations = []string{"config.kubernetes.io/function", "config.k8s.io/function"}

// Plugin reads the document as a plugin's configuration; false when it is
// not a mapping.
func (d Doc) Plugin() (*PluginConfig, bool) {
	doc, ok := d.value.(map[string]any)
	if !ok {
		return nil, false
	}
	c := &PluginConfig{}
	c.APIVersion, _ = doc["apiVersion"].(string)
	c.Kind, _ = doc["kind"].(string)
	g, v := resid.ParseGroupVersion(c.APIVersion)
	c.Builtin = g == "" && v == konfig.BuiltinPluginApiVersion
	meta, _ := doc["metadata"].(map[string]any)
	annotations, _ := meta["annotations"].(map[string]any)
	for _, a := range functionAnnotations {
		if _, ok := annotations[a]; ok {
			c.Function = true
		}
	}
	for _, key := range slices.Sorted(maps.Keys(doc)) {
		c.Refs = append(c.Refs, pluginRefs(strings.ToLower(key), doc[key])...)
	}
	return c, true
}

// pluginRefs returns the files one key of a builtin configuration names.
// Builtin configurations are decoded case-insensitively.
func pluginRefs(key string, v any) []Ref {
	ref := func(kind Kind, s string) Ref { return Ref{Field: Field(key), Kind: kind, Value: s, Path: s} }
	var out []Ref
	switch key {
	case "path", "targetfilepath":
		if s, ok := v.(string); ok && s != "" {
			out = append(out, ref(YAMLFile, s))
		}
	case "paths":
		for _, s := range stringList(v) {
			out = append(out, ref(YAMLFile, s))
		}
	case "files":
		for _, s := range stringList(v) {
			if p, ok := FileSourcePath(s); ok {
				r := ref(DataFile, s)
				r.Path = p
				out = append(out, r)
			}
		}
	case "envs":
		for _, s := range stringList(v) {
			out = append(out, ref(DataFile, s))
		}
	case "env":
		if s, ok := v.(string); ok && s != "" {
			out = append(out, ref(DataFile, s))
		}
	case "replacements":
		list, _ := v.([]any)
		for _, item := range list {
			m, _ := item.(map[string]any)
			for _, k := range slices.Sorted(maps.Keys(m)) {
				if s, ok := m[k].(string); ok && strings.EqualFold(k, "path") && s != "" {
					out = append(out, ref(YAMLFile, s))
				}
			}
		}
	}
	return out
}

func findURL(v any) string {
	switch t := v.(type) {
	case string:
		if IsURL(t) {
			return t
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(t)) {
			if IsURL(k) {
				return k
			}
			if s := findURL(t[k]); s != "" {
				return s
			}
		}
	case []any:
		for _, e := range t {
			if s := findURL(e); s != "" {
				return s
			}
		}
	}
	return ""
}

func stringList(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// normalizeKeys turns any map[any]any in yaml.v3's output into
// map[string]any (non-string keys are stringified).
func normalizeKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normalizeKeys(e)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = normalizeKeys(e)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = normalizeKeys(e)
		}
	}
	return v
}
