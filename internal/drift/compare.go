package drift

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"

	"github.com/ferry-gitops/ferry/internal/normalize"
)

// Redacted stands in for a Secret's data values in an Event's Live and Want.
const Redacted = "(redacted)"

// fieldDiff is one drifted field.
type fieldDiff struct {
	path     fieldpath.Path
	field    string
	live     any
	liveOK   bool
	want     any
	managers []string  // who owns the live value, ferry excluded
	time     time.Time // when they last wrote it; zero when unknown
}

// entry is one managedFields entry, parsed.
type entry struct {
	manager   string
	operation metav1.ManagedFieldsOperationType
	time      time.Time
	set       *fieldpath.Set
}

// serverFields are set by the API server (or are the object's identity),
// never drift.
var serverFields = map[string]bool{
	"apiVersion": true, "kind": true, "status": true,
}

var serverMetadata = map[string]bool{
	"name": true, "namespace": true, "generateName": true, "uid": true, "resourceVersion": true,
	"generation": true, "creationTimestamp": true, "deletionTimestamp": true,
	"deletionGracePeriodSeconds": true, "managedFields": true, "selfLink": true,
}

// compare reports the fields of live that drifted from want, ferry's last
// applied desired state, sorted by field ("spec.replicas", "data.log_level",
// "spec.template.spec.containers[name=app].image"), each with the field
// managers that own its live value and its two values.
//
// A field is compared when ferry's apply sets it: it is in want, and it is
// in some manager's managedFields (ferry's own, or that of a manager which
// took it over) or nobody owns it any more (it was removed). It drifted when
// its live value differs from want's and ferry is not its only owner: a
// field only ferry owns holds what ferry applied. Fields ferry never sets
// (status, others' annotations, defaults, server-managed metadata) are never
// drift. ferry is ferry's field manager. Neither object is modified.
func compare(live *unstructured.Unstructured, want map[string]any, ferry string) []fieldDiff {
	liveObj := live.Object
	if isSecret(live) {
		want = foldStringData(want)
		if sealed(want) {
			liveObj = sealLive(liveObj)
		}
	}
	entries := parseEntries(live.GetManagedFields())
	candidates := candidatePaths(want, entries)
	var diffs []fieldDiff
	for _, s := range slices.Sorted(maps.Keys(candidates)) {
		p := candidates[s]
		wv, ok := resolve(want, p)
		if !ok {
			continue // ferry does not set it
		}
		lv, lok := resolve(liveObj, p)
		if lok && equal(p, lv, wv) {
			continue
		}
		var owners []entry
		ferryOwns := false
		for _, e := range entries {
			switch {
			case !owns(e.set, p):
			case e.manager == ferry:
				ferryOwns = true
			default:
				owners = append(owners, e)
			}
		}
		if ferryOwns && len(owners) == 0 {
			// ferry's own value: a desired state newer than the one at
			// hand, or the server's normalization (100m for 0.1).
			continue
		}
		if len(owners) == 0 && !ferryOwns {
			if lok && !isScalar(lv) {
				// A list or map nobody owns, not even in part (an object
				// older than managedFields): its defaults cannot be
				// told from changes.
				continue
			}
			owners = lastWriter(entries, ferry)
		}
		d := fieldDiff{path: p, field: format(p), live: lv, liveOK: lok, want: wv}
		for _, o := range owners {
			if !slices.Contains(d.managers, o.manager) {
				d.managers = append(d.managers, o.manager)
			}
			if o.time.After(d.time) {
				d.time = o.time
			}
		}
		slices.Sort(d.managers)
		diffs = append(diffs, d)
	}
	out := outermost(diffs)
	slices.SortFunc(out, func(a, b fieldDiff) int { return strings.Compare(a.field, b.field) })
	return out
}

// candidatePaths are the fields that may have drifted, by their string
// form: every leaf a manager owns and every field ferry sets, less those
// that never drift.
func candidatePaths(want map[string]any, entries []entry) map[string]fieldpath.Path {
	candidates := map[string]fieldpath.Path{}
	add := func(p fieldpath.Path) {
		if len(p) == 0 || ignored(p) {
			return
		}
		s := p.String()
		if _, ok := candidates[s]; !ok {
			candidates[s] = p.Copy()
		}
	}
	for _, e := range entries {
		e.set.Leaves().Iterate(add)
	}
	walkWant(want, nil, entries, add)
	return candidates
}

// outermost drops the diffs under another: an atomic map or list drifts as
// a whole, and its fields are not listed again under it.
func outermost(diffs []fieldDiff) []fieldDiff {
	out := make([]fieldDiff, 0, len(diffs))
	for _, d := range diffs {
		if !slices.ContainsFunc(diffs, func(a fieldDiff) bool {
			return len(a.path) < len(d.path) && a.path.Equals(d.path[:len(a.path)])
		}) {
			out = append(out, d)
		}
	}
	return out
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

func parseEntries(mfs []metav1.ManagedFieldsEntry) []entry {
	out := make([]entry, 0, len(mfs))
	for _, mf := range mfs {
		if mf.FieldsV1 == nil || mf.FieldsType != "FieldsV1" {
			continue
		}
		s := &fieldpath.Set{}
		if err := s.FromJSON(bytes.NewReader(mf.FieldsV1.Raw)); err != nil {
			continue // not ours to repair; the other entries still count
		}
		e := entry{manager: mf.Manager, operation: mf.Operation, set: s}
		if mf.Time != nil {
			e.time = mf.Time.Time
		}
		out = append(out, e)
	}
	return out
}

// ignored: paths that are never drift, whoever sets them.
func ignored(p fieldpath.Path) bool {
	if p[0].FieldName == nil {
		return true
	}
	if serverFields[*p[0].FieldName] {
		return true
	}
	if *p[0].FieldName == "metadata" && len(p) > 1 && p[1].FieldName != nil {
		return serverMetadata[*p[1].FieldName]
	}
	return false
}

// walkWant adds want's leaves: every scalar reached through maps. A list is
// a leaf unless a managedFields entry has paths under it (an associative
// list, keyed by name, port...): its elements are then compared by those
// paths, which carry the keys the schema gives and want does not.
func walkWant(v map[string]any, prefix fieldpath.Path, entries []entry, add func(fieldpath.Path)) {
	for k, x := range v {
		p := append(slices.Clip(prefix), fieldpath.FieldNameElement(k))
		switch x := x.(type) {
		case nil:
		case map[string]any:
			if len(x) > 0 {
				walkWant(x, p, entries, add)
			}
		case []any:
			if !hasChildren(entries, p) {
				add(p)
			}
		default:
			add(p)
		}
	}
}

func hasChildren(entries []entry, p fieldpath.Path) bool {
	for _, e := range entries {
		s := e.set
		for _, pe := range p {
			c, ok := s.Children.Get(pe)
			if !ok {
				s = nil
				break
			}
			s = c
		}
		if s != nil && !s.Empty() {
			return true
		}
	}
	return false
}

// owns reports whether a manager with set s owns p: p is a member, or an
// ancestor is a member with nothing listed under it (an atomic map or list,
// owned whole).
func owns(s *fieldpath.Set, p fieldpath.Path) bool {
	cur := s
	for i, pe := range p {
		child, hasChild := cur.Children.Get(pe)
		if cur.Members.Has(pe) && (i == len(p)-1 || !hasChild || child.Empty()) {
			return true
		}
		if !hasChild {
			return false
		}
		cur = child
	}
	return false
}

// lastWriter attributes a field nobody owns (it was removed) to the manager
// that wrote last, when that is not ferry: removing a field leaves no trace
// of who did it, so this is a best guess, and none is better than a wrong
// one when ferry wrote last.
func lastWriter(entries []entry, ferry string) []entry {
	var last *entry
	for i := range entries {
		if last == nil || entries[i].time.After(last.time) {
			last = &entries[i]
		}
	}
	if last == nil || last.manager == ferry || last.time.IsZero() {
		return nil
	}
	return []entry{*last}
}

// resolve finds p in an unstructured object.
func resolve(obj map[string]any, p fieldpath.Path) (any, bool) {
	var cur any = obj
	for _, pe := range p {
		switch {
		case pe.FieldName != nil:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = m[*pe.FieldName]; !ok {
				return nil, false
			}
		case pe.Key != nil:
			l, ok := cur.([]any)
			if !ok {
				return nil, false
			}
			if cur, ok = findKeyed(l, *pe.Key); !ok {
				return nil, false
			}
		case pe.Value != nil:
			l, ok := cur.([]any)
			if !ok {
				return nil, false
			}
			i := slices.IndexFunc(l, func(x any) bool { return value.Equals(value.NewValueInterface(x), *pe.Value) })
			if i < 0 {
				return nil, false
			}
			cur = l[i]
		case pe.Index != nil:
			l, ok := cur.([]any)
			if !ok || *pe.Index < 0 || *pe.Index >= len(l) {
				return nil, false
			}
			cur = l[*pe.Index]
		default:
			return nil, false
		}
	}
	return cur, true
}

// findKeyed finds the element of an associative list with key fields. An
// element that lacks some key fields matches when the others do and no
// element matches them all: a desired port without `protocol` is the live
// one the server defaulted to TCP.
func findKeyed(l []any, key value.FieldList) (any, bool) {
	var partial any
	partials := 0
	for _, x := range l {
		m, ok := x.(map[string]any)
		if !ok {
			continue
		}
		all, mismatch := true, false
		for _, f := range key {
			v, ok := m[f.Name]
			switch {
			case !ok:
				all = false
			case !value.Equals(value.NewValueInterface(v), f.Value):
				mismatch = true
			}
		}
		switch {
		case mismatch:
		case all:
			return x, true
		default:
			partial = x
			partials++
		}
	}
	return partial, partials == 1
}

// equal compares a live and a desired value: as values (3 equals 3.0), and
// resource quantities by amount (100m equals 0.1).
func equal(p fieldpath.Path, live, want any) bool {
	if value.Equals(value.NewValueInterface(live), value.NewValueInterface(want)) {
		return true
	}
	ls, lok := live.(string)
	ws, wok := want.(string)
	if !lok || !wok || len(p) < 2 || p[len(p)-2].FieldName == nil {
		return false
	}
	switch *p[len(p)-2].FieldName {
	case "limits", "requests", "hard", "capacity", "overhead":
	default:
		return false
	}
	lq, err1 := resource.ParseQuantity(ls)
	wq, err2 := resource.ParseQuantity(ws)
	return err1 == nil && err2 == nil && lq.Cmp(wq) == 0
}

// format renders p as kubectl's JSONPath does, without the leading dot:
// spec.replicas, metadata.annotations.example\.com/team,
// spec.template.spec.containers[name=app].image.
func format(p fieldpath.Path) string {
	var b strings.Builder
	for i, pe := range p {
		switch {
		case pe.FieldName != nil:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(strings.ReplaceAll(*pe.FieldName, ".", `\.`))
		case pe.Key != nil:
			parts := make([]string, len(*pe.Key))
			for j, f := range *pe.Key {
				parts[j] = f.Name + "=" + scalar(f.Value)
			}
			b.WriteString("[" + strings.Join(parts, ",") + "]")
		case pe.Value != nil:
			b.WriteString("[=" + scalar(*pe.Value) + "]")
		case pe.Index != nil:
			fmt.Fprintf(&b, "[%d]", *pe.Index)
		}
	}
	return b.String()
}

func scalar(v value.Value) string {
	if v.IsString() {
		return v.AsString()
	}
	return value.ToString(v)
}

func isSecret(u *unstructured.Unstructured) bool {
	return u.GetKind() == "Secret" && u.GetAPIVersion() == "v1"
}

// secretValue: a path whose value is a Secret's data.
func secretValue(field string) bool {
	return field == "data" || field == "stringData" ||
		strings.HasPrefix(field, "data.") || strings.HasPrefix(field, "stringData.")
}

// foldStringData moves a desired Secret's stringData into data, as the API
// server does on write, so that it compares with the live object.
func foldStringData(want map[string]any) map[string]any {
	sd, _ := want["stringData"].(map[string]any)
	if len(sd) == 0 {
		return want
	}
	out := maps.Clone(want)
	data, _ := want["data"].(map[string]any)
	data = maps.Clone(data)
	if data == nil {
		data = map[string]any{}
	}
	for k, v := range sd {
		if s, ok := v.(string); ok {
			data[k] = base64.StdEncoding.EncodeToString([]byte(s))
		}
	}
	out["data"] = data
	delete(out, "stringData")
	return out
}

// values renders the drifted fields' values for an Event: deep copies, so
// that the informer's cache is never shared, and a Secret's data redacted.
func values(diffs []fieldDiff, secret bool) (live, want map[string]any) {
	live, want = map[string]any{}, map[string]any{}
	for _, d := range diffs {
		if secret && secretValue(d.field) {
			if d.liveOK {
				live[d.field] = Redacted
			}
			want[d.field] = Redacted
			continue
		}
		if d.liveOK {
			live[d.field] = normalize.DeepCopy(d.live)
		}
		want[d.field] = normalize.DeepCopy(d.want)
	}
	return live, want
}
