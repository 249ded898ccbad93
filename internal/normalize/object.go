package normalize

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// Remove returns a copy of obj without its ignored fields (see Paths), and
// without the maps and lists that removing them left empty, as Argo CD
// normalizes; obj itself is not modified. With nothing to ignore it returns
// obj. An error (see Paths) comes with the fields the other entries ignore
// removed.
func (n *Normalizer) Remove(ctx context.Context, o Object, obj map[string]any, managed []metav1.ManagedFieldsEntry) (map[string]any, error) {
	paths, err := n.Paths(ctx, o, obj, managed)
	if len(paths) == 0 {
		return obj, err
	}
	out := DeepCopy(obj).(map[string]any)
	removeAll(out, paths)
	return out, err
}

// Respect returns a copy of want in which each ignored field (those of live,
// with live's managers, and those of want) holds its live value, or is
// absent when live has none: applying it leaves those fields as they are,
// as Argo CD's RespectIgnoreDifferences=true does. Any error of Paths is
// returned: a sync must not reset a field it was told to leave alone.
func (n *Normalizer) Respect(ctx context.Context, o Object, want, live map[string]any, managed []metav1.ManagedFieldsEntry) (map[string]any, error) {
	lp, err := n.Paths(ctx, o, live, managed)
	if err != nil {
		return nil, err
	}
	wp, err := n.Paths(ctx, o, want, managed)
	if err != nil {
		return nil, err
	}
	if len(lp)+len(wp) == 0 {
		return want, nil
	}
	out := DeepCopy(want).(map[string]any)
	var absent []fieldpath.Path
	for _, p := range append(lp, wp...) {
		v, ok := resolve(live, p)
		if !ok {
			absent = append(absent, p)
			continue
		}
		set(out, p, DeepCopy(v))
	}
	removeAll(out, absent)
	return out, nil
}

// step is one resolved path element: a map key or a list index.
type step struct {
	key   string
	index int
	list  bool
}

// locate resolves p in obj to concrete steps: keyed list elements (from
// managedFields) are found by their key fields, values by equality.
func locate(obj map[string]any, p fieldpath.Path) ([]step, any, bool) {
	var cur any = obj
	steps := make([]step, 0, len(p))
	for _, pe := range p {
		switch c := cur.(type) {
		case map[string]any:
			var k string
			switch {
			case pe.FieldName != nil:
				k = *pe.FieldName
			case pe.Index != nil: // a JSON pointer's digits on a map
				k = strconv.Itoa(*pe.Index)
			default:
				return nil, nil, false
			}
			v, ok := c[k]
			if !ok {
				return nil, nil, false
			}
			steps, cur = append(steps, step{key: k}), v
		case []any:
			i := listIndex(c, pe)
			if i < 0 {
				return nil, nil, false
			}
			steps, cur = append(steps, step{index: i, list: true}), c[i]
		default:
			return nil, nil, false
		}
	}
	return steps, cur, true
}

func listIndex(l []any, pe fieldpath.PathElement) int {
	switch {
	case pe.Index != nil:
		if *pe.Index < len(l) {
			return *pe.Index
		}
	case pe.Key != nil:
		return slices.IndexFunc(l, func(x any) bool {
			m, ok := x.(map[string]any)
			if !ok {
				return false
			}
			for _, f := range *pe.Key {
				v, ok := m[f.Name]
				if !ok || !value.Equals(value.NewValueInterface(v), f.Value) {
					return false
				}
			}
			return true
		})
	case pe.Value != nil:
		return slices.IndexFunc(l, func(x any) bool { return value.Equals(value.NewValueInterface(x), *pe.Value) })
	}
	return -1
}

func resolve(obj map[string]any, p fieldpath.Path) (any, bool) {
	_, v, ok := locate(obj, p)
	return v, ok
}

// removeAll deletes the paths found in obj. They are resolved first and
// deleted deepest and highest index first, so that deleting one list
// element does not shift the others' indexes.
func removeAll(obj map[string]any, paths []fieldpath.Path) {
	var found [][]step
	for _, p := range paths {
		if steps, _, ok := locate(obj, p); ok && len(steps) > 0 {
			found = append(found, steps)
		}
	}
	slices.SortFunc(found, func(a, b []step) int { return -compareSteps(a, b) })
	for _, steps := range found {
		obj = deleteAt(obj, steps)
	}
}

func compareSteps(a, b []step) int {
	for i := 0; i < min(len(a), len(b)); i++ {
		if c := cmp.Or(cmp.Compare(a[i].key, b[i].key), cmp.Compare(a[i].index, b[i].index)); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// deleteAt deletes the value at steps (resolved in obj just before),
// rebuilding the list that held it, then the map or list holding it if
// that is now empty.
func deleteAt(obj map[string]any, steps []step) map[string]any {
	var parent any = obj
	for _, s := range steps[:len(steps)-1] {
		parent = child(parent, s)
		if parent == nil {
			return obj
		}
	}
	last := steps[len(steps)-1]
	empty := false
	switch c := parent.(type) {
	case map[string]any:
		delete(c, last.key)
		empty = len(c) == 0
	case []any:
		if !last.list || last.index >= len(c) {
			return obj
		}
		shorter := slices.Delete(slices.Clone(c), last.index, last.index+1)
		setChild(obj, steps[:len(steps)-1], shorter)
		empty = len(shorter) == 0
	}
	if empty && len(steps) > 1 {
		return deleteAt(obj, steps[:len(steps)-1])
	}
	return obj
}

func child(v any, s step) any {
	switch c := v.(type) {
	case map[string]any:
		if !s.list {
			return c[s.key]
		}
	case []any:
		if s.list && s.index < len(c) {
			return c[s.index]
		}
	}
	return nil
}

// setChild replaces the value at steps (which exists) by v.
func setChild(obj map[string]any, steps []step, v any) {
	if len(steps) == 0 {
		return
	}
	var parent any = obj
	for _, s := range steps[:len(steps)-1] {
		parent = child(parent, s)
	}
	last := steps[len(steps)-1]
	switch c := parent.(type) {
	case map[string]any:
		c[last.key] = v
	case []any:
		c[last.index] = v
	}
}

// set writes v at p under cur, creating the maps on the way; a list
// element on the way must exist already, and a value that is neither map
// nor list is left alone.
func set(cur any, p fieldpath.Path, v any) {
	if len(p) == 0 {
		return
	}
	switch c := cur.(type) {
	case map[string]any:
		var k string
		switch pe := p[0]; {
		case pe.FieldName != nil:
			k = *pe.FieldName
		case pe.Index != nil: // a JSON pointer's digits on a map
			k = strconv.Itoa(*pe.Index)
		default:
			return
		}
		if len(p) == 1 {
			c[k] = v
			return
		}
		next, ok := c[k]
		if !ok {
			if p[1].FieldName == nil {
				return
			}
			next = map[string]any{}
			c[k] = next
		}
		set(next, p[1:], v)
	case []any:
		i := listIndex(c, p[0])
		if i < 0 {
			return
		}
		if len(p) == 1 {
			c[i] = v
			return
		}
		set(c[i], p[1:], v)
	}
}

// jqValue converts an unstructured object to the values gojq takes: its
// numbers are int or float64, never int64.
func jqValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = jqValue(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = jqValue(x)
		}
		return out
	case int64:
		return int(v)
	case int32:
		return int(v)
	case float32:
		return float64(v)
	}
	return v
}

// DeepCopy copies maps and lists of a decoded object; other values are
// immutable and shared.
func DeepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = DeepCopy(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = DeepCopy(x)
		}
		return out
	}
	return v
}

// fieldSet parses a managedFields entry.
func fieldSet(mf metav1.ManagedFieldsEntry) (*fieldpath.Set, error) {
	s := &fieldpath.Set{}
	if err := s.FromJSON(bytes.NewReader(mf.FieldsV1.Raw)); err != nil {
		return nil, fmt.Errorf("managedFields of %s: %w", mf.Manager, err)
	}
	return s, nil
}
