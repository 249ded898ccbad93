package secrets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/zricethezav/gitleaks/v8/logging"
	"sigs.k8s.io/yaml"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// corpusDir holds true positives and true negatives; expected.yaml there
// lists what each file must produce.
const corpusDir = "../../testdata/secrets"

type expectation struct {
	Added    map[string][]string `json:"added"`
	Rendered map[string][]string `json:"rendered"`
}

func loadExpected(t testing.TB) expectation {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpusDir, "expected.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var e expectation
	if err := yaml.UnmarshalStrict(data, &e); err != nil {
		t.Fatalf("expected.yaml: %v", err)
	}
	return e
}

// corpus returns every corpus file (but expected.yaml) by its path
// relative to the corpus root.
func corpus(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(corpusDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(corpusDir, p)
		if err != nil {
			return err
		}
		if rel == "expected.yaml" {
			return nil
		}
		data, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func allAdded(data []byte) []AddedLine { return diffAdded(nil, data) }

func ruleIDs(fs []Finding) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range fs {
		if !seen[f.RuleID] {
			seen[f.RuleID] = true
			out = append(out, f.RuleID)
		}
	}
	sort.Strings(out)
	return out
}

func newTestScanner(t testing.TB, allow Allowlist, opts ...Option) *Scanner {
	t.Helper()
	s, err := NewScanner(allow, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCorpusPrecisionRecall scores the scanner on the corpus, counting
// (file, rule) pairs: both precision and recall must be 1.
func TestCorpusPrecisionRecall(t *testing.T) {
	exp := loadExpected(t)
	files := corpus(t)
	s := newTestScanner(t, Allowlist{})
	var tp, fp, fn int
	score := func(t *testing.T, got, want []string) {
		t.Helper()
		for _, r := range got {
			if slices.Contains(want, r) {
				tp++
			} else {
				fp++
				t.Errorf("false positive: %s", r)
			}
		}
		for _, r := range want {
			if !slices.Contains(got, r) {
				fn++
				t.Errorf("false negative: %s", r)
			}
		}
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run("added/"+name, func(t *testing.T) {
			want, ok := exp.Added[name]
			if !ok {
				t.Fatalf("%s is not listed in expected.yaml", name)
			}
			score(t, ruleIDs(s.ScanChange(name, files[name], allAdded(files[name]))), want)
		})
	}
	for name := range exp.Added {
		if _, ok := files[name]; !ok {
			t.Errorf("expected.yaml lists %s, which is not in the corpus", name)
		}
	}
	for _, name := range sortedKeys(exp.Rendered) {
		t.Run("rendered/"+name, func(t *testing.T) {
			objs, err := manifest.Parse(files[name], name)
			if err != nil {
				t.Fatal(err)
			}
			score(t, ruleIDs(s.ScanManifests("corpus", objs)), exp.Rendered[name])
		})
	}
	precision := float64(tp) / float64(tp+fp)
	recall := float64(tp) / float64(tp+fn)
	t.Logf("corpus: %d files, precision %.3f, recall %.3f (tp=%d fp=%d fn=%d)", len(files), precision, recall, tp, fp, fn)
	if precision != 1 || recall != 1 {
		t.Errorf("precision %.3f, recall %.3f; want both 1", precision, recall)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// planted lists the secret values in the corpus's true positives (and the
// decoded form of the base64 one).
func planted(t *testing.T, files map[string][]byte) []string {
	vals := []string{
		"AKIAFERRYFAKECSRMR4T",
		"Bm4PzLgeVudubh1MlH2zj3jmrsA4WbHprxhbjUi/",
		"ghp_FerryFakeuKcLq2cyhMGAuGkbM6BOvKGTS6d",
		"github_pat_11FERRYFAKE6EO43CYI248_ferryFakekqUzl4kZeE0008XWj9a2gC6kUWDDK1vpLWHAM03hY9QND6bpuc",
		"xoxb-695574109077-5847494454492-FerryFakeNhn5Dq3IIiOre3E",
		"T0FERRYFK/B0FAKEORAHX/FerryFakeE0rsk88J4s4pvU8",
		"RmVycnlGYWtlRGItSURNYnNOSVp3ZzZIYk9JSA==",
		"FerryFakeDb-IDMbsNIZwg6HbOIH",
		"FerryFakeApi-qWukfybYbcKpQH0Ay9Hv",
		"Ferry#Fake!dv9Jxl@RLKej",
	}
	for _, name := range []string{"positive/id_rsa", "positive/deploy_key"} {
		for _, line := range strings.Split(string(files[name]), "\n") {
			if line != "" && !strings.HasPrefix(line, "-----") {
				vals = append(vals, line)
			}
		}
	}
	for _, v := range vals {
		found := false
		for _, data := range files {
			found = found || bytes.Contains(data, []byte(v))
		}
		if !found && v != "FerryFakeDb-IDMbsNIZwg6HbOIH" {
			t.Fatalf("planted value %q is not in the corpus; update the test", v)
		}
	}
	return vals
}

// leaks reports the first planted value, or any 10-character piece of one,
// that occurs in text.
func leaks(text string, vals []string) (string, bool) {
	const window = 10
	for _, v := range vals {
		for i := 0; i+window <= len(v); i++ {
			if strings.Contains(text, v[i:i+window]) {
				return v[i : i+window], true
			}
		}
	}
	return "", false
}

// TestFindingsNeverHoldTheSecret scans the corpus every way there is and
// fails if any planted value, or a 10-character piece of one, shows up in
// any field or printed form of any finding or unscanned object, or in
// gitleaks' log at its default level (ferry's scanner does not log).
func TestFindingsNeverHoldTheSecret(t *testing.T) {
	files := corpus(t)
	vals := planted(t, files)

	var gitleaksBuf bytes.Buffer
	saved := logging.Logger
	logging.Logger = logging.Logger.Output(&gitleaksBuf)
	t.Cleanup(func() { logging.Logger = saved })
	s := newTestScanner(t, Allowlist{})

	var all []Finding
	for name, data := range files {
		all = append(all, s.ScanChange(name, data, allAdded(data))...)
		all = append(all, s.ScanAdded(name, allAdded(data))...)
		if objs, err := manifest.Parse(data, name); err == nil {
			all = append(all, s.ScanManifests("prod", objs)...)
		}
	}
	if len(all) < 10 {
		t.Fatalf("only %d findings; the corpus should give more", len(all))
	}
	for _, f := range all {
		js, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		forms := []string{f.String(), fmt.Sprintf("%v", f), fmt.Sprintf("%+v", f), fmt.Sprintf("%#v", f), string(js)}
		v := reflect.ValueOf(f)
		for i := 0; i < v.NumField(); i++ {
			forms = append(forms, fmt.Sprint(v.Field(i).Interface()))
		}
		for _, form := range forms {
			if piece, ok := leaks(form, vals); ok {
				t.Errorf("finding %s leaks %q in %q", f.RuleID, piece, form)
			}
		}
	}
	if piece, ok := leaks(fmt.Sprintf("%+v", s.Unscanned()), vals); ok {
		t.Errorf("unscanned objects leak %q", piece)
	}
	if piece, ok := leaks(gitleaksBuf.String(), vals); ok {
		t.Errorf("gitleaks log output leaks %q", piece)
	}
}
