// Package strictyaml decodes one YAML document into a Go struct by its
// json tags, strictly: an unknown or misspelt field is an error naming the
// field and its line (with a suggestion), and so is every type error,
// because a typo that silently disables a setting is worse than a refusal.
// It walks yaml.v3's node tree itself rather than going through JSON so
// that every error carries a line, and bounds nesting and alias expansion.
package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// maxDepth bounds nesting (and alias expansion) so a hostile file cannot
// make the decoder recurse without end.
const maxDepth = 64

// Aliases can make a small file stand for a huge value (nine aliases of
// nine aliases of ... is a billion nodes), so what a document expands to is
// bounded: nodes visited plus scalar bytes, at most expansionFactor times
// the file's size plus minBudget.
const (
	expansionFactor = 10
	minBudget       = 1 << 20
)

// Decode decodes one YAML document into out (a pointer to a struct),
// matching keys against json tags exactly and rejecting anything unknown.
// Errors are *manifest.ParseError values naming file and line. An int
// field named Line tagged json:"-" receives the line of its mapping.
func Decode(data []byte, file string, out any) error {
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	var doc yamlv3.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return manifest.YAMLError(file, data, err)
	}
	var extra yamlv3.Node
	if err := dec.Decode(&extra); err == nil {
		line := extra.Line
		if len(extra.Content) > 0 {
			line = extra.Content[0].Line
		}
		return &manifest.ParseError{File: file, Line: line, Err: errors.New("expected a single YAML document")}
	} else if !errors.Is(err, io.EOF) {
		return manifest.YAMLError(file, data, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	d := &decoder{file: file, budget: expansionFactor*len(data) + minBudget}
	return d.decode(doc.Content[0], reflect.ValueOf(out).Elem(), "", 0)
}

type decoder struct {
	file string
	// budget is what the document may still expand to (see minBudget).
	budget int
}

// spend takes a node's cost from the budget.
func (d *decoder) spend(n *yamlv3.Node) error {
	d.budget -= 1 + len(n.Value)
	if d.budget < 0 {
		return fmt.Errorf("aliases expand to more than %d times the file's size", expansionFactor)
	}
	return nil
}

func (d *decoder) errorf(n *yamlv3.Node, path, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	return &manifest.ParseError{File: d.file, Line: n.Line, Err: errors.New(msg)}
}

func isNull(n *yamlv3.Node) bool {
	return n.Kind == yamlv3.ScalarNode && n.ShortTag() == "!!null"
}

func describe(n *yamlv3.Node) string {
	switch n.Kind {
	case yamlv3.MappingNode:
		return "a mapping"
	case yamlv3.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

func (d *decoder) decode(n *yamlv3.Node, v reflect.Value, path string, depth int) error {
	if depth > maxDepth {
		return d.errorf(n, path, "nested too deeply")
	}
	if err := d.spend(n); err != nil {
		return d.errorf(n, path, "%v", err)
	}
	if n.Kind == yamlv3.AliasNode {
		return d.decode(n.Alias, v, path, depth+1)
	}
	if isNull(n) {
		v.Set(reflect.Zero(v.Type()))
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := d.decode(n, p.Elem(), path, depth+1); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.Struct:
		return d.decodeStruct(n, v, path, depth)
	case reflect.Slice:
		return d.decodeSlice(n, v, path, depth)
	case reflect.Map:
		return d.decodeMap(n, v, path, depth)
	case reflect.Interface:
		val, err := d.generic(n, path, depth)
		if err != nil {
			return err
		}
		if val != nil {
			v.Set(reflect.ValueOf(val))
		}
		return nil
	}
	if n.Kind != yamlv3.ScalarNode {
		return d.errorf(n, path, "expected a %s, found %s", v.Kind(), describe(n))
	}
	return d.decodeScalar(n, v, path)
}

func (d *decoder) decodeSlice(n *yamlv3.Node, v reflect.Value, path string, depth int) error {
	if n.Kind != yamlv3.SequenceNode {
		return d.errorf(n, path, "expected a list, found %s", describe(n))
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		if err := d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

func (d *decoder) decodeMap(n *yamlv3.Node, v reflect.Value, path string, depth int) error {
	if n.Kind != yamlv3.MappingNode {
		return d.errorf(n, path, "expected a mapping, found %s", describe(n))
	}
	if v.Type().Key().Kind() != reflect.String {
		return d.errorf(n, path, "unsupported map key type %s", v.Type().Key())
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yamlv3.ScalarNode {
			return d.errorf(k, path, "map keys must be strings")
		}
		if m.MapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key())).IsValid() {
			return d.errorf(k, path, "duplicate key %q", k.Value)
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		if err := d.decode(val, elem, joinPath(path, k.Value), depth+1); err != nil {
			return err
		}
		m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), elem)
	}
	v.Set(m)
	return nil
}

// decodeScalar sets a string, bool or number from a scalar.
func (d *decoder) decodeScalar(n *yamlv3.Node, v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.String:
		// Any scalar is its literal text, so `tag: 1.10` stays "1.10".
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			return d.errorf(n, path, "expected true or false, found %q", n.Value)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if n.ShortTag() != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			return d.errorf(n, path, "expected an integer, found %q", n.Value)
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var u uint64
		if n.ShortTag() != "!!int" || n.Decode(&u) != nil || v.OverflowUint(u) {
			return d.errorf(n, path, "expected a non-negative integer, found %q", n.Value)
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		var f float64
		if (n.ShortTag() != "!!float" && n.ShortTag() != "!!int") || n.Decode(&f) != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return d.errorf(n, path, "expected a number, found %q", n.Value)
		}
		v.SetFloat(f)
	default:
		return d.errorf(n, path, "unsupported field type %s", v.Type())
	}
	return nil
}

// field is one settable struct field, known by its json name. An exported
// `Line int` field tagged `json:"-"` is not decoded but receives the line
// the struct's mapping starts on, for later messages.
type field struct {
	index []int
}

// An embedded struct without a json tag is inlined, as encoding/json
// inlines it.
func structFields(t reflect.Type) (fields map[string]field, lineField []int) {
	fields = map[string]field{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("json") == "" {
			inner, innerLine := structFields(f.Type)
			for name, fi := range inner {
				fields[name] = field{index: append([]int{i}, fi.index...)}
			}
			if lineField == nil && innerLine != nil {
				lineField = append([]int{i}, innerLine...)
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if f.Tag.Get("json") == "-" {
			if f.Name == "Line" && f.Type.Kind() == reflect.Int {
				lineField = f.Index
			}
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		fields[name] = field{index: f.Index}
	}
	return fields, lineField
}

func (d *decoder) decodeStruct(n *yamlv3.Node, v reflect.Value, path string, depth int) error {
	if n.Kind != yamlv3.MappingNode {
		return d.errorf(n, path, "expected a mapping, found %s", describe(n))
	}
	fields, lineField := structFields(v.Type())
	// A merged mapping's keys land in the struct that merges it; the line
	// stays the one of the mapping the user wrote.
	if lineField != nil && v.FieldByIndex(lineField).Int() == 0 {
		v.FieldByIndex(lineField).SetInt(int64(n.Line))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yamlv3.ScalarNode {
			return d.errorf(k, path, "keys must be field names, found %s", describe(k))
		}
		if k.Value == "<<" {
			// A merge key pulls in an anchored mapping (or a list of them);
			// their keys are checked like any other.
			merged := []*yamlv3.Node{val}
			if val.Kind == yamlv3.SequenceNode {
				merged = val.Content
			}
			for _, m := range merged {
				if m.Kind == yamlv3.AliasNode {
					m = m.Alias
				}
				if err := d.decodeStruct(m, v, path, depth+1); err != nil {
					return err
				}
			}
			continue
		}
		f, ok := fields[k.Value]
		if !ok {
			return d.errorf(k, path, "unknown field %q%s", k.Value, suggest(k.Value, fields))
		}
		if seen[k.Value] {
			return d.errorf(k, path, "field %q set twice", k.Value)
		}
		seen[k.Value] = true
		if err := d.decode(val, v.FieldByIndex(f.index), joinPath(path, k.Value), depth+1); err != nil {
			return err
		}
	}
	return nil
}

// generic decodes free-form values (Helm valuesObject) the way Helm reads
// values files, so numbers and booleans come out as they would from a file.
func (d *decoder) generic(n *yamlv3.Node, path string, depth int) (any, error) {
	expanded, err := d.expandAliases(n, 0)
	if err != nil {
		return nil, d.errorf(n, path, "%v", err)
	}
	b, err := yamlv3.Marshal(expanded)
	if err != nil {
		return nil, d.errorf(n, path, "%v", err)
	}
	var out any
	if err := yaml.Unmarshal(b, &out); err != nil {
		return nil, d.errorf(n, path, "%v", err)
	}
	return out, nil
}

// expandAliases copies a subtree with aliases replaced by what they point
// at, so it can be printed on its own.
func (d *decoder) expandAliases(n *yamlv3.Node, depth int) (*yamlv3.Node, error) {
	if depth > maxDepth {
		return nil, errors.New("nested too deeply")
	}
	if err := d.spend(n); err != nil {
		return nil, err
	}
	if n.Kind == yamlv3.AliasNode {
		return d.expandAliases(n.Alias, depth+1)
	}
	c := *n
	c.Anchor = ""
	if len(n.Content) > 0 {
		c.Content = make([]*yamlv3.Node, len(n.Content))
		for i, child := range n.Content {
			e, err := d.expandAliases(child, depth+1)
			if err != nil {
				return nil, err
			}
			c.Content[i] = e
		}
	}
	return &c, nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// suggest names the closest known field, since most unknown fields are typos.
func suggest(name string, fields map[string]field) string {
	best, bestDist := "", 3
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		if strings.EqualFold(f, name) {
			return fmt.Sprintf(" (did you mean %q?)", f)
		}
		if dist := editDistance(strings.ToLower(name), strings.ToLower(f)); dist < bestDist {
			best, bestDist = f, dist
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return fmt.Sprintf(" (known fields: %s)", strings.Join(names, ", "))
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
