package diff

import (
	"encoding/base64"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// Placeholders stand in for Secret values. A value that differs between the
// renders gets a different placeholder on the head side, so the diff still
// shows a -/+ pair for that key. Nothing derived from the value (not even a
// short hash: low-entropy passwords are easy to brute-force from one) is
// ever printed.
const (
	Redacted        = "(redacted)"
	RedactedChanged = "(redacted, changed)"
)

// lastApplied is kubectl's copy of the whole object, values included.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// isSecret reports whether values of k must be hidden. Any kind named
// Secret qualifies, not only the core one: hiding too much is harmless,
// showing a value is not.
func isSecret(k manifest.Key) bool {
	return k.Kind == "Secret"
}

// redactSecrets returns copies of two versions of a Secret (either may be
// nil) with every data and stringData value and the last-applied annotation
// replaced by a placeholder, plus the keys whose values were added, removed
// or changed.
func redactSecrets(base, head map[string]any) (map[string]any, map[string]any, SecretKeys) {
	keys := secretKeys(base, head)
	base, head = cloneTop(base), cloneTop(head)
	// Older API servers matched field names case-insensitively, so "Data"
	// would be stored as data: every spelling is hidden.
	fields := map[string]bool{"data": true, "stringData": true}
	for _, obj := range []map[string]any{base, head} {
		for k := range obj {
			if strings.EqualFold(k, "data") || strings.EqualFold(k, "stringData") {
				fields[k] = true
			}
		}
	}
	for field := range fields {
		redactField(base, head, field)
	}
	redactAnnotation(base, head)
	return base, head, keys
}

// redactField replaces obj[field] on both sides. A well-formed field is a
// map of key to value and is redacted per key; anything else is replaced
// whole.
func redactField(base, head map[string]any, field string) {
	bv, bok := lookupField(base, field)
	hv, hok := lookupField(head, field)
	// A null field holds nothing to hide and prints as such.
	bok = bok && bv != nil
	hok = hok && hv != nil
	bm, bIsMap := bv.(map[string]any)
	hm, hIsMap := hv.(map[string]any)
	if (!bok || bIsMap) && (!hok || hIsMap) {
		if bok {
			rb := make(map[string]any, len(bm))
			for k := range bm {
				rb[k] = Redacted
			}
			base[field] = rb
		}
		if hok {
			rh := make(map[string]any, len(hm))
			for k, v := range hm {
				rh[k] = Redacted
				if old, ok := bm[k]; ok && !reflect.DeepEqual(old, v) {
					rh[k] = RedactedChanged
				}
			}
			head[field] = rh
		}
		return
	}
	if bok {
		base[field] = Redacted
	}
	if hok {
		head[field] = Redacted
		if bok && !reflect.DeepEqual(bv, hv) {
			head[field] = RedactedChanged
		}
	}
}

func redactAnnotation(base, head map[string]any) {
	bv, bok := annotation(base)
	hv, hok := annotation(head)
	if bok {
		setAnnotation(base, Redacted)
	}
	if hok {
		ph := Redacted
		if bok && !reflect.DeepEqual(bv, hv) {
			ph = RedactedChanged
		}
		setAnnotation(head, ph)
	}
}

func annotation(obj map[string]any) (any, bool) {
	ann, ok := lookup(obj, []string{"metadata", "annotations"})
	if !ok {
		return nil, false
	}
	v, ok := ann[lastApplied]
	return v, ok
}

// setAnnotation overwrites the last-applied annotation of obj, copying the
// maps on the way so the caller's object keeps its value.
func setAnnotation(obj map[string]any, v string) {
	ann, _ := lookup(obj, []string{"metadata", "annotations"})
	out := make(map[string]any, len(ann))
	for k, val := range ann {
		out[k] = val
	}
	out[lastApplied] = v
	meta, _ := obj["metadata"].(map[string]any)
	m := make(map[string]any, len(meta))
	for k, val := range meta {
		m[k] = val
	}
	m["annotations"] = out
	obj["metadata"] = m
}

func lookupField(obj map[string]any, field string) (any, bool) {
	if obj == nil {
		return nil, false
	}
	v, ok := obj[field]
	return v, ok
}

// cloneTop copies the top level of obj, enough for redactField and
// setAnnotation to replace fields without touching the caller's map.
func cloneTop(obj map[string]any) map[string]any {
	if obj == nil {
		return nil
	}
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		out[k] = v
	}
	return out
}

// secretKeys compares the effective contents of two Secrets the way the API
// server builds them: stringData entries override data, and data values are
// base64 so they are compared decoded (a re-encoding is not a change).
func secretKeys(base, head map[string]any) SecretKeys {
	b, h := effective(base), effective(head)
	var keys SecretKeys
	for k, hv := range h {
		bv, ok := b[k]
		switch {
		case !ok:
			keys.Added = append(keys.Added, k)
		case !reflect.DeepEqual(bv, hv):
			keys.Changed = append(keys.Changed, k)
		}
	}
	for k := range b {
		if _, ok := h[k]; !ok {
			keys.Removed = append(keys.Removed, k)
		}
	}
	slices.Sort(keys.Added)
	slices.Sort(keys.Removed)
	slices.Sort(keys.Changed)
	return keys
}

func effective(obj map[string]any) map[string]any {
	out := map[string]any{}
	// data first, so stringData entries override, as the API server does.
	fields := slices.Sorted(maps.Keys(obj)) // a fixed order if "data" comes in two spellings
	for _, stringData := range []bool{false, true} {
		for _, field := range fields {
			v := obj[field]
			isData, isString := strings.EqualFold(field, "data"), strings.EqualFold(field, "stringData")
			if !(isData && !stringData || isString && stringData) {
				continue
			}
			m, _ := v.(map[string]any)
			for k, v := range m {
				if s, ok := v.(string); ok && isData {
					if dec, err := base64.StdEncoding.DecodeString(s); err == nil {
						out[k] = string(dec)
						continue
					}
				}
				out[k] = v
			}
		}
	}
	return out
}

// Shown returns an object as ferry prints it: a Secret with its values
// redacted as in a diff, anything else as it is.
func Shown(o manifest.Object) manifest.Object {
	if isSecret(o.Key) {
		_, o.Object, _ = redactSecrets(nil, o.Object)
	}
	return o
}
