package secrets

import (
	"encoding/base64"
	"strings"
	"sync"
	"testing"
)

var (
	maskerOnce sync.Once
	testMasker *Masker
)

func newTestMasker(t *testing.T) *Masker {
	t.Helper()
	maskerOnce.Do(func() {
		r, err := LoadRules()
		if err != nil {
			t.Fatal(err)
		}
		if testMasker, err = r.Masker(); err != nil {
			t.Fatal(err)
		}
	})
	return testMasker
}

func TestMaskText(t *testing.T) {
	const (
		awsKey = "AKIAQYLPMN5HHHFPZAM2"
		ghTok  = "ghp_0123456789abcdefghijABCDEFGHIJ012345"
	)
	encoded := base64.StdEncoding.EncodeToString([]byte("aws_access_key_id = " + awsKey + "\n"))
	tests := []struct {
		name, text string
		secrets    []string
		want       []string // texts the masked output holds
	}{
		{name: "aws key in a ConfigMap", text: "data:\n  aws: " + awsKey + "\n", secrets: []string{awsKey},
			want: []string{"aws: AKIA… (redacted: aws-access-token)"}},
		{name: "github token in a diff line", text: "+  token: '" + ghTok + "'\n", secrets: []string{ghTok},
			want: []string{"+  token: 'ghp_… (redacted: github-pat)'"}},
		{name: "twice on one line", text: "a: " + awsKey + " b: " + awsKey + "\n", secrets: []string{awsKey}},
		{name: "base64-encoded", text: "binaryData:\n  b: " + encoded + "\n", secrets: []string{encoded},
			want: []string{"b: … (redacted, encoded: aws-access-token)"}},
		{name: "error message", text: `cannot unmarshal !!str "` + ghTok + `" into int`, secrets: []string{ghTok}},
		{name: "nothing to mask", text: "replicas: 3\nimage: nginx:1.25\n", want: []string{"replicas: 3\nimage: nginx:1.25\n"}},
	}
	m := newTestMasker(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := m.MaskText(tt.text)
			for _, s := range tt.secrets {
				if strings.Contains(got, s) {
					t.Errorf("masked text still holds the secret:\n%s", got)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("masked text lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestMaskTextTooLarge(t *testing.T) {
	got := newTestMasker(t).MaskText(strings.Repeat("x", MaxMaskedText+1))
	if !strings.HasPrefix(got, "(not shown") {
		t.Errorf("oversized text shown: %.40q", got)
	}
}
