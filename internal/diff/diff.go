// Package diff compares two renders of an environment resource by resource:
// objects are paired by identity, printed as normalized YAML and diffed line
// by line, with Helm noise filtered out and Secret values replaced before any
// text is produced, so no value can reach a diff.
package diff

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/synchook"
)

// DefaultContext is the number of unchanged lines shown around each change.
const DefaultContext = 3

// Options tunes Compare.
type Options struct {
	// Context is the number of context lines per hunk: 0 means
	// DefaultContext, a negative value means none.
	Context int
	// IgnoreLabels and IgnoreAnnotations are keys or MatchKey patterns
	// ("checksum/*", "helm.sh/chart") dropped from metadata.labels and
	// metadata.annotations, and from the pod and job templates of workloads,
	// before comparing: Helm stamps these on every release, and a preview
	// full of them hides the change that matters.
	IgnoreLabels, IgnoreAnnotations []string
	// From and To name the two sides in diff headers ("base" and "head"
	// when empty); a live diff compares "live" with "head".
	From, To string
	// Mask hides secret values in each side's text before it is diffed
	// (secrets.Masker); nil shows values as they are, Secrets' data aside.
	Mask Masker
}

// Masker hides secret values in text meant for people.
type Masker interface {
	MaskText(text string) string
}

// MaskWith masks text with m, or returns it as it is when m is nil.
func MaskWith(m Masker, text string) string {
	if m == nil {
		return text
	}
	return m.MaskText(text)
}

func (o Options) context() int {
	switch {
	case o.Context == 0:
		return DefaultContext
	case o.Context < 0:
		return 0
	}
	return o.Context
}

// Compare pairs the objects of two renders by manifest.Key and returns one
// Change per key, ordered by manifest.Less. Unchanged objects are included
// (without a diff) so callers can count them. When a render holds the same
// key twice the later object wins, as it would when applied.
func Compare(base, head []manifest.Object, opts Options) []Change {
	ctx := opts.context()
	baseByKey := index(base)
	headByKey := index(head)

	out := make([]Change, 0, max(len(baseByKey), len(headByKey)))
	for k, h := range headByKey {
		out = append(out, compareOne(k, baseByKey[k], h, opts, ctx))
	}
	for k, b := range baseByKey {
		if _, ok := headByKey[k]; !ok {
			out = append(out, compareOne(k, b, nil, opts, ctx))
		}
	}
	slices.SortFunc(out, func(a, b Change) int {
		switch {
		case manifest.Less(a.Key, b.Key):
			return -1
		case manifest.Less(b.Key, a.Key):
			return 1
		}
		return 0
	})
	return out
}

func index(objs []manifest.Object) map[manifest.Key]*manifest.Object {
	m := make(map[manifest.Key]*manifest.Object, len(objs))
	for i := range objs {
		m[objs[i].Key] = &objs[i]
	}
	return m
}

// compareOne classifies one key; b or h is nil when the object is only on
// one side.
func compareOne(k manifest.Key, b, h *manifest.Object, opts Options, ctx int) Change {
	c := Change{Key: k}
	var bObj, hObj map[string]any
	if b != nil {
		bObj = clean(b.Object, opts)
		c.Source, c.Hook = b.Source, synchook.Of(b.Object).Label()
	}
	if h != nil {
		hObj = clean(h.Object, opts)
		c.Source, c.Hook = h.Source, synchook.Of(h.Object).Label()
	}
	switch {
	case b == nil:
		c.Change = Added
	case h == nil:
		c.Change = Removed
	default:
		// Most objects are untouched by a change; comparing the decoded
		// values first saves printing both as YAML.
		if equal(bObj, hObj) {
			c.Change = Unchanged
			return c
		}
		c.Change = Changed
	}

	if isSecret(k) {
		var keys SecretKeys
		bObj, hObj, keys = redactSecrets(bObj, hObj)
		if c.Change == Changed || len(keys.Added)+len(keys.Removed)+len(keys.Changed) > 0 {
			c.SecretKeys = &keys
		}
	}

	bText, err := marshal(bObj)
	if err != nil {
		c.Diff = fmt.Sprintf("# ferry: cannot print base object: %v\n", err)
		return c
	}
	hText, err := marshal(hObj)
	if err != nil {
		c.Diff = fmt.Sprintf("# ferry: cannot print head object: %v\n", err)
		return c
	}
	if c.Change == Changed && bText == hText {
		// Values differed only in representation (say int64 against
		// float64) and print the same: nothing a reviewer could see.
		c.Change = Unchanged
		c.SecretKeys = nil
		return c
	}
	if opts.Mask != nil {
		bText, hText = opts.Mask.MaskText(bText), opts.Mask.MaskText(hText)
		if bText == hText {
			c.Diff = "# ferry: only values it does not show (secrets) changed\n"
			return c
		}
	}
	from, to := opts.From, opts.To
	if from == "" {
		from = "base"
	}
	if to == "" {
		to = "head"
	}
	c.Diff = Unified(from+"/"+k.String(), to+"/"+k.String(), bText, hText, ctx)
	return c
}

func marshal(obj map[string]any) (string, error) {
	if obj == nil {
		return "", nil
	}
	b, err := manifest.Marshal(obj)
	if err != nil {
		return "", fmt.Errorf("marshal: %w", err)
	}
	return string(b), nil
}

// clean returns obj without the ignored labels and annotations, copying
// only the maps it changes so the caller's object is left alone.
func clean(obj map[string]any, opts Options) map[string]any {
	if len(opts.IgnoreLabels) == 0 && len(opts.IgnoreAnnotations) == 0 {
		return obj
	}
	// These are the metadata maps ignore patterns apply to. Pod templates
	// carry Helm's checksum annotations more often than the workload
	// itself; CronJobs nest theirs one level deeper.
	metaPaths := [...][2][]string{
		{{"metadata", "labels"}, {"metadata", "annotations"}},
		{{"spec", "template", "metadata", "labels"}, {"spec", "template", "metadata", "annotations"}},
		{{"spec", "jobTemplate", "metadata", "labels"}, {"spec", "jobTemplate", "metadata", "annotations"}},
		{{"spec", "jobTemplate", "spec", "template", "metadata", "labels"}, {"spec", "jobTemplate", "spec", "template", "metadata", "annotations"}},
	}
	for _, p := range metaPaths {
		obj = dropKeys(obj, p[0], opts.IgnoreLabels)
		obj = dropKeys(obj, p[1], opts.IgnoreAnnotations)
	}
	return obj
}

// dropKeys removes the keys matching patterns from the map at p, returning
// obj itself when nothing matches and a copy along p otherwise. A map left
// empty is removed too, so "labels: {}" cannot show up as a change.
func dropKeys(obj map[string]any, p []string, patterns []string) map[string]any {
	if len(patterns) == 0 {
		return obj
	}
	target, ok := lookup(obj, p)
	if !ok {
		return obj
	}
	var kept map[string]any
	for k := range target {
		if matchAny(patterns, k) {
			kept = make(map[string]any, len(target))
			break
		}
	}
	if kept == nil {
		return obj
	}
	for k, v := range target {
		if !matchAny(patterns, k) {
			kept[k] = v
		}
	}
	return replace(obj, p, kept)
}

func matchAny(patterns []string, key string) bool {
	for _, p := range patterns {
		if MatchKey(p, key) {
			return true
		}
	}
	return false
}

// MatchKey reports whether a label or annotation key matches pattern, a key
// in which "*" matches any run of characters, "/" included: "checksum/*"
// matches "checksum/config" and "checksum/secrets/db". Nothing else is
// special, so keys need no escaping. These are the patterns .ferry.yaml's
// diff.ignoreLabels and diff.ignoreAnnotations hold.
func MatchKey(pattern, key string) bool {
	first, rest, wild := strings.Cut(pattern, "*")
	if !wild {
		return pattern == key
	}
	// Nearly every key fails here, on the literal prefix ("checksum/",
	// "helm.sh/").
	if !strings.HasPrefix(key, first) {
		return false
	}
	key = key[len(first):]
	parts := strings.Split(rest, "*")
	last := parts[len(parts)-1]
	// Each middle part matches at its leftmost place: that leaves the most
	// of the key for the parts after it.
	for _, p := range parts[:len(parts)-1] {
		i := strings.Index(key, p)
		if i < 0 {
			return false
		}
		key = key[i+len(p):]
	}
	return strings.HasSuffix(key, last)
}

// equal is reflect.DeepEqual specialised to decoded JSON values, several
// times faster on the common path where nothing changed.
func equal(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) || (a == nil) != (b == nil) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !equal(av, bv) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) || (a == nil) != (b == nil) {
			return false
		}
		for i := range a {
			if !equal(a[i], b[i]) {
				return false
			}
		}
		return true
	case string:
		b, ok := b.(string)
		return ok && a == b
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case float64:
		b, ok := b.(float64)
		return ok && a == b
	case int64:
		b, ok := b.(int64)
		return ok && a == b
	case nil:
		return b == nil
	}
	return reflect.DeepEqual(a, b)
}

// lookup walks obj along p and returns the map found there.
func lookup(obj map[string]any, p []string) (map[string]any, bool) {
	cur := obj
	for _, k := range p {
		next, ok := cur[k].(map[string]any)
		if !ok {
			return nil, false
		}
		cur = next
	}
	return cur, true
}

// replace returns a copy of obj with the value at p set to v (deleted when
// v is an empty map), copying every map along the way.
func replace(obj map[string]any, p []string, v map[string]any) map[string]any {
	out := make(map[string]any, len(obj))
	for k, val := range obj {
		out[k] = val
	}
	if len(p) == 1 {
		if len(v) == 0 {
			delete(out, p[0])
		} else {
			out[p[0]] = v
		}
		return out
	}
	child, _ := obj[p[0]].(map[string]any)
	out[p[0]] = replace(child, p[1:], v)
	return out
}
