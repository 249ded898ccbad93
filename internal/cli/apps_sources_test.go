package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
)

// TestAppsTableExternalSources: `ferry apps` names a multi-source
// environment's sources that are not rendered, next to its path.
func TestAppsTableExternalSources(t *testing.T) {
	tests := []struct {
		name     string
		external []string
		want     string
	}{
		{"none", nil, "overlay "},
		{"two", []string{"https://a.example (path x)", "https://b.example (chart db 1.0)"}, "overlay (+ external: https://a.example (path x), https://b.example (chart db 1.0))"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			env := environment.Environment{Name: "web", Type: environment.Kustomize, Path: "overlay", Origin: environment.FromApplication, ExternalSources: tt.external}
			if err := appsTable(Streams{Out: &out}, []environment.Environment{env}, nil); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("table lacks %q:\n%s", tt.want, out.String())
			}
		})
	}
}
