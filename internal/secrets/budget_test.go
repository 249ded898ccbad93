package secrets

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// A render input is scanned whatever its size or content; other large or
// binary files are left to the renders that read them.
func TestScanDiffReadsRenderInputs(t *testing.T) {
	big := strings.Repeat("# filler line\n", MaxTextFileSize/14+1) + "key_id = " + fakeAWSKeyID + "\n"
	binary := "\x00\x01binary\nkey_id = " + fakeAWSKeyID + "\n"
	base := testrepo.Tree(t, map[string]string{"keep.txt": "x\n"})
	head := testrepo.Tree(t, map[string]string{"keep.txt": "x\n", "gen/big.txt": big, "gen/blob.bin": binary})
	changed := repofs.Changed(base, head)
	tests := []struct {
		name   string
		inputs []string
		want   int
	}{
		{"not read by a render", nil, 0},
		{"read by a render", []string{"gen/big.txt", "gen/blob.bin"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestScanner(t, Allowlist{}, WithRenderInputs(tt.inputs))
			got, err := s.ScanDiff(context.Background(), base, head, changed)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.want {
				t.Errorf("findings %v, want %d aws-access-token", places(got), tt.want)
			}
		})
	}
}

// Past its budget a scan stops with a finding that fails the check: what
// was not read is not clean.
func TestScanBudget(t *testing.T) {
	files := map[string]string{}
	for _, f := range []string{"a.txt", "b.txt", "c.txt"} {
		files[f] = strings.Repeat("line of text\n", 100)
	}
	base := testrepo.Tree(t, map[string]string{})
	head := testrepo.Tree(t, files)
	s := newTestScanner(t, Allowlist{}, WithLimits(Limits{Bytes: 2000, Time: time.Minute}))
	got, err := s.ScanDiff(context.Background(), base, head, repofs.Changed(base, head))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].RuleID != RuleIncomplete || got[0].File != "b.txt" {
		t.Fatalf("findings %+v, want one %s at b.txt", got, RuleIncomplete)
	}
	if !strings.Contains(got[0].Description, "not scanned") {
		t.Errorf("description %q does not say what was left out", got[0].Description)
	}
	objs, err := manifest.Parse([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"), "cm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.ScanManifests("prod", objs); len(got) != 1 || got[0].RuleID != RuleIncomplete {
		t.Errorf("rendered findings after the budget ran out: %+v, want %s", got, RuleIncomplete)
	}
}
