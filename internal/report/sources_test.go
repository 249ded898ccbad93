package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/preview"
)

// TestExternalSourcesShown: a multi-source environment's sources from
// another repository are named next to it in the comment and the text
// report, and nothing is added for an environment without any.
func TestExternalSourcesShown(t *testing.T) {
	tests := []struct {
		name         string
		external     []string
		wantMarkdown string
		wantText     string
	}{
		{"none", nil, "", ""},
		{"one", []string{"https://github.com/other/apps (path web)"}, "(+1 external source, not rendered)", "external sources, not rendered: https://github.com/other/apps (path web)"},
		{"two", []string{"https://a.example (path x)", "https://b.example (chart db 1.0.0)"}, "(+2 external sources, not rendered)", "https://a.example (path x), https://b.example (chart db 1.0.0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := envResult(t, "web", "", "")
			e.Env = environment.Environment{Name: "web", ExternalSources: tt.external}
			r := &preview.Result{Environments: []preview.EnvironmentResult{e}}
			md := Markdown(r, MarkdownOptions{})
			var text bytes.Buffer
			if err := Text(&text, r, false); err != nil {
				t.Fatal(err)
			}
			for out, want := range map[string]string{md: tt.wantMarkdown, text.String(): tt.wantText} {
				if want == "" {
					if strings.Contains(out, "external source") {
						t.Errorf("output mentions external sources:\n%s", out)
					}
					continue
				}
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}
