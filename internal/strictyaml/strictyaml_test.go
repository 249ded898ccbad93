package strictyaml

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

type named struct {
	Name  string   `json:"name"`
	Items []string `json:"items,omitempty"`
}

// entry inlines named (as encoding/json would) and records its line.
type entry struct {
	named
	Count int `json:"count"`
	Line  int `json:"-"`
}

type retry struct {
	Limit  uint     `json:"limit"`
	Factor *float64 `json:"factor,omitempty"`
}

type settings struct {
	Prune  bool              `json:"prune"`
	Labels map[string]string `json:"labels,omitempty"`
	Values any               `json:"values,omitempty"`
	Retry  *retry            `json:"retry,omitempty"`
}

type doc struct {
	Entries  []entry  `json:"entries,omitempty"`
	Settings settings `json:"settings,omitempty"`
	Tag      string   `json:"tag,omitempty"`
}

func ptr[T any](v T) *T { return &v }

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want doc
	}{
		{name: "empty document", yaml: "# nothing\n"},
		{name: "null document", yaml: "~\n"},
		{
			name: "embedded fields inline, Line is each mapping's line",
			yaml: "entries:\n  - name: a\n    items: [x]\n    count: 2\n  - {name: b}\n",
			want: doc{Entries: []entry{{named: named{Name: "a", Items: []string{"x"}}, Count: 2, Line: 2}, {named: named{Name: "b"}, Line: 5}}},
		},
		{
			name: "anchors and merge keys keep the merging mapping's line",
			yaml: "entries:\n  - &base\n    name: a\n    count: 1\n  - <<: *base\n    name: b\n",
			want: doc{Entries: []entry{{named: named{Name: "a"}, Count: 1, Line: 2}, {named: named{Name: "b"}, Count: 1, Line: 5}}},
		},
		{
			name: "a string field takes a scalar's literal text",
			yaml: "tag: 1.10\n",
			want: doc{Tag: "1.10"},
		},
		{
			name: "pointers, maps, numbers and free-form values",
			yaml: "settings:\n  prune: true\n  labels: {tier: dev}\n  retry: {limit: 5, factor: 2}\n  values:\n    image: {tag: v2}\n    replicas: 3\n",
			want: doc{Settings: settings{
				Prune: true, Labels: map[string]string{"tier": "dev"}, Retry: &retry{Limit: 5, Factor: ptr(2.0)},
				Values: map[string]any{"image": map[string]any{"tag": "v2"}, "replicas": float64(3)},
			}},
		},
		{
			name: "aliases in free-form values are expanded",
			yaml: "settings:\n  values:\n    a: &x [1, 2]\n    b: *x\n",
			want: doc{Settings: settings{Values: map[string]any{"a": []any{float64(1), float64(2)}, "b": []any{float64(1), float64(2)}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got doc
			if err := Decode([]byte(tt.yaml), "f.yaml", &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode() =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

// TestDecodeErrors: every mistake is a *manifest.ParseError naming the
// file and line (and the field's path where there is one).
func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		line int
		want string
	}{
		{"unknown field", "tag: a\ntga: b\n", 2, `f.yaml:2: unknown field "tga" (did you mean "tag"?)`},
		{"unknown nested field", "entries:\n  - nme: a\n", 2, `f.yaml:2: entries[0]: unknown field "nme" (did you mean "name"?)`},
		{"field names are case-sensitive", "settings:\n  Prune: true\n", 2, `f.yaml:2: settings: unknown field "Prune" (did you mean "prune"?)`},
		{"unknown field far from any known one", "settings:\n  colour: red\n", 2, `settings: unknown field "colour" (known fields: labels, prune, retry, values)`},
		{"bad yaml", "settings:\n  labels: [a\n  prune: b\n", 2, "f.yaml:2: did not find expected ',' or ']'"},
		{"bad indentation", "entries:\n  - name: a\n    count: 1\n   tag: c\n", 4, "f.yaml:4: did not find expected '-' indicator"},
		{"yaml error without a line", "tag: a\nentries: a: b\n", 2, "f.yaml:2: mapping values are not allowed in this context"},
		{"two documents", "tag: a\n---\ntag: b\n", 3, "f.yaml:3: expected a single YAML document"},
		{"top level is a list", "- a\n", 1, "f.yaml:1: expected a mapping, found a list"},
		{"list expected", "entries: a\n", 1, `f.yaml:1: entries: expected a list, found "a"`},
		{"mapping expected", "settings:\n  labels: [a]\n", 2, "settings.labels: expected a mapping, found a list"},
		{"bool expected", "settings:\n  prune: yes\n", 2, `f.yaml:2: settings.prune: expected true or false, found "yes"`},
		{"integer expected", "entries:\n  - name: a\n    count: three\n", 3, `f.yaml:3: entries[0].count: expected an integer, found "three"`},
		{"non-negative integer expected", "settings:\n  retry: {limit: -1}\n", 2, `settings.retry.limit: expected a non-negative integer, found "-1"`},
		{"number expected", "settings:\n  retry: {factor: .nan}\n", 2, `settings.retry.factor: expected a number, found ".nan"`},
		{"scalar expected", "tag: [a]\n", 1, "tag: expected a string, found a list"},
		{"field set twice", "tag: a\ntag: b\n", 2, "f.yaml:2:"},
		{"map key twice", "settings:\n  labels:\n    a: x\n    a: y\n", 4, "f.yaml:4:"},
		{"nested too deeply", "settings:\n  values: " + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "\n", 2, "settings.values: nested too deeply"},
		{"aliases expanding without end", "settings:\n  values:\n" + aliasBomb(8), 3, "aliases expand to more than 10 times the file's size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got doc
			err := Decode([]byte(tt.yaml), "f.yaml", &got)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			var pe *manifest.ParseError
			if !errors.As(err, &pe) || pe.File != "f.yaml" || pe.Line != tt.line {
				t.Errorf("err %#v: want a *manifest.ParseError at f.yaml:%d", err, tt.line)
			}
		})
	}
}

// aliasBomb is a mapping (indented for "values:") whose every level lists
// the previous one nine times: nine to the power levels nodes from a few
// hundred bytes.
func aliasBomb(levels int) string {
	var b strings.Builder
	b.WriteString("    l0: &l0 [x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= levels; i++ {
		prev := fmt.Sprintf("*l%d", i-1)
		fmt.Fprintf(&b, "    l%d: &l%d [%s]\n", i, i, strings.Repeat(prev+", ", 8)+prev)
	}
	return b.String()
}
