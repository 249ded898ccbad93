package strictyaml

import (
	"strings"
	"testing"
)

type inner struct {
	Name  string   `json:"name"`
	Items []string `json:"items,omitempty"`
}

type outer struct {
	inner
	Count int `json:"count"`
	Line  int `json:"-"`
}

type doc struct {
	Entries []outer `json:"entries"`
}

// TestDecode: embedded structs are inlined as encoding/json inlines them,
// Line receives each mapping's line, and mistakes name their line.
func TestDecode(t *testing.T) {
	var d doc
	if err := Decode([]byte("entries:\n  - name: a\n    items: [x]\n    count: 2\n  - {name: b}\n"), "f.yaml", &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Entries) != 2 || d.Entries[0].Name != "a" || d.Entries[0].Items[0] != "x" || d.Entries[0].Count != 2 ||
		d.Entries[0].Line != 2 || d.Entries[1].Line != 5 || d.Entries[1].Name != "b" {
		t.Errorf("decoded %+v", d)
	}
	tests := []struct{ yaml, want string }{
		{"entries:\n  - nme: a\n", `f.yaml:2: entries[0]: unknown field "nme" (did you mean "name"?)`},
		{"entries:\n  - count: many\n", "f.yaml:2"},
		{"a: 1\n---\nb: 2\n", "f.yaml:3: expected a single YAML document"},
	}
	for _, tt := range tests {
		var d doc
		if err := Decode([]byte(tt.yaml), "f.yaml", &d); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.yaml, err, tt.want)
		}
	}
}
