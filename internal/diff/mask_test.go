package diff

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// wordMasker masks one word, as secrets.Masker masks what its rules match.
type wordMasker string

func (w wordMasker) MaskText(text string) string {
	return strings.ReplaceAll(text, string(w), "… (redacted: test)")
}

func TestMaskedBeforeDiffing(t *testing.T) {
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  token: %s\n  replicas: \"%d\"\n"
	tests := []struct {
		name       string
		base, head string
		change     ChangeType
		want       string
	}{
		{name: "added", head: sprintf(cm, "s3cr3t-one", 1), change: Added, want: "+  token: … (redacted: test)"},
		{name: "removed", base: sprintf(cm, "s3cr3t-one", 1), change: Removed, want: "-  token: … (redacted: test)"},
		{name: "changed elsewhere", base: sprintf(cm, "s3cr3t-one", 1), head: sprintf(cm, "s3cr3t-one", 2), change: Changed, want: `+  replicas: "2"`},
		{name: "only the secret changed", base: sprintf(cm, "s3cr3t-one", 1), head: sprintf(cm, "s3cr3t-two", 1), change: Changed, want: "only values it does not show"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var base, head []string
			if tt.base != "" {
				base = []string{tt.base}
			}
			if tt.head != "" {
				head = []string{tt.head}
			}
			masker := multiMasker{wordMasker("s3cr3t-one"), wordMasker("s3cr3t-two")}
			got := Compare(parseAll(t, base), parseAll(t, head), Options{Mask: masker})
			if len(got) != 1 || got[0].Change != tt.change {
				t.Fatalf("changes %+v, want one %s", got, tt.change)
			}
			if strings.Contains(got[0].Diff, "s3cr3t") || !strings.Contains(got[0].Diff, tt.want) {
				t.Errorf("diff:\n%s\nwant it to hold %q and no secret", got[0].Diff, tt.want)
			}
		})
	}
}

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

func parseAll(t *testing.T, docs []string) []manifest.Object {
	return parse(t, strings.Join(docs, "\n---\n"))
}

type multiMasker []wordMasker

func (m multiMasker) MaskText(text string) string {
	for _, w := range m {
		text = w.MaskText(text)
	}
	return text
}
