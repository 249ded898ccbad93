package secrets

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// Fake values, shaped for gitleaks' rules.
const (
	fakeGitHubPAT = "ghp_FerryFakeuKcLq2cyhMGAuGkbM6BOvKGTS6d"
	fakeAWSKeyID  = "AKIAFERRYFAKECSRMR4T"
)

const secretDoc = `apiVersion: v1
kind: Secret
metadata:
  name: db
data:
  user: cGF5bWVudHM=
`

func lines(from int, text ...string) []AddedLine {
	out := make([]AddedLine, len(text))
	for i, t := range text {
		out[i] = AddedLine{Number: from + i, Text: t}
	}
	return out
}

type place struct {
	Rule   string
	Line   int
	Column int
}

func places(fs []Finding) []place {
	var out []place
	for _, f := range fs {
		out = append(out, place{f.RuleID, f.Line, f.Column})
	}
	return out
}

func TestScanChange(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		head  string // "" scans the added lines alone (ScanAdded)
		added []AddedLine
		allow Allowlist
		want  []place
	}{
		{
			name:  "token on an added line, position of the match",
			file:  "ci/env.sh",
			added: lines(7, "echo hi", "export TOKEN="+fakeGitHubPAT),
			want:  []place{{"github-pat", 8, 14}},
		},
		{
			name:  "column on the first line of a block",
			file:  "ci/env.sh",
			added: lines(3, "T="+fakeGitHubPAT),
			want:  []place{{"github-pat", 3, 3}},
		},
		{
			name:  "lines not added are not reported",
			file:  "config.ini",
			head:  "key=" + fakeAWSKeyID + "\nname=x\n",
			added: lines(2, "name=x"),
		},
		{
			name: "a key added to an existing Secret is found with the head as context",
			file: "k8s/secret.yaml",
			head: secretDoc + "  password: RmVycnlGYWtlRGItSURNYnNOSVp3ZzZIYk9JSA==\n",
			added: lines(7,
				"  password: RmVycnlGYWtlRGItSURNYnNOSVp3ZzZIYk9JSA=="),
			want: []place{{RuleKubernetesSecret, 7, 3}},
		},
		{
			name:  "the same added line alone has no document around it",
			file:  "k8s/secret.yaml",
			added: lines(7, "  apiVersion: v1", "  password: changeme"),
		},
		{
			name:  "a whole new Secret needs no context",
			file:  "k8s/secret.yaml",
			added: allAdded([]byte(secretDoc)),
			want:  []place{{RuleKubernetesSecret, 6, 3}},
		},
		{
			name:  "a document that does not parse costs only itself",
			file:  "templates/all.yaml",
			added: allAdded([]byte("kind: ConfigMap\ndata: {{ .Values.x | toYaml }}\n  oops: [\n---\n" + secretDoc)),
			want:  []place{{RuleKubernetesSecret, 10, 3}},
		},
		{
			name:  "a Secret in a file that is not YAML is left to gitleaks",
			file:  "k8s/secret.txt",
			added: allAdded([]byte(secretDoc)),
		},
		{
			name:  "core Secrets only: another group's Secret kind is not one",
			file:  "x.yaml",
			added: allAdded([]byte(strings.Replace(secretDoc, "apiVersion: v1", "apiVersion: example.com/v1", 1))),
		},
		{
			name:  "Secret inside a List",
			file:  "list.yaml",
			added: allAdded([]byte("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  stringData:\n    token: FerryFakeApi-qWukfybYbcKpQH0Ay9Hv\n")),
			want:  []place{{RuleKubernetesSecret, 7, 5}},
		},
		{
			name:  "gitleaks:allow skips a gitleaks rule",
			file:  "ci/env.sh",
			added: lines(1, "T="+fakeGitHubPAT+" # gitleaks:allow"),
		},
		{
			name:  "gitleaks:allow skips a structural rule",
			file:  "s.yaml",
			added: allAdded([]byte(strings.Replace(secretDoc, "cGF5bWVudHM=", "cGF5bWVudHM= # gitleaks:allow", 1))),
		},
		{
			name:  "allowlisted path, glob on the base name",
			file:  "docs/deep/token.md",
			added: lines(1, "T="+fakeGitHubPAT),
			allow: Allowlist{Paths: []string{"*.md"}},
		},
		{
			name:  "allowlisted path, ** glob",
			file:  "fixtures/a/b/env.sh",
			added: lines(1, "T="+fakeGitHubPAT),
			allow: Allowlist{Paths: []string{"fixtures/**"}},
		},
		{
			name:  "a path glob that does not match",
			file:  "src/env.sh",
			added: lines(1, "T="+fakeGitHubPAT),
			allow: Allowlist{Paths: []string{"fixtures/**", "*.md"}},
			want:  []place{{"github-pat", 1, 3}},
		},
		{
			name:  "allowlisted fingerprint",
			file:  "ci/env.sh",
			added: lines(1, "T="+fakeGitHubPAT),
			allow: Allowlist{Fingerprints: []string{Fingerprint("github-pat", "ci/env.sh", "1")}},
		},
		{
			name:  "allowlisted gitleaks-style fingerprint",
			file:  "ci/env.sh",
			added: lines(1, "T="+fakeGitHubPAT),
			allow: Allowlist{Fingerprints: []string{"ci/env.sh:github-pat:1"}},
		},
		{
			name:  "allowlisted regex on a gitleaks secret",
			file:  "ci/env.sh",
			added: lines(1, "T="+fakeGitHubPAT),
			allow: Allowlist{Regexes: []string{"^ghp_FerryFake"}},
		},
		{
			name:  "allowlisted regex on a structural value (decoded)",
			file:  "s.yaml",
			added: allAdded([]byte(secretDoc)),
			allow: Allowlist{Regexes: []string{"^payments$"}},
		},
		{
			name:  "helm values only in values files",
			file:  "config/app.yaml",
			added: lines(1, `password: "Ferry#Fake!dv9Jxl@RLKej"`),
		},
		{
			name: "helm values: credential keys, not references or low-entropy words",
			file: "charts/app/values-prod.yaml",
			added: lines(1, "db:", `  password: "Ferry#Fake!dv9Jxl@RLKej"`, "  existingSecret: app-db-credentials-prod",
				"  secret: app-db-credentials", "  userPassword: postgres", "  passwordLength: \"32\"", "  token: 12345"),
			want: []place{{RuleHelmValuesSecret, 2, 3}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestScanner(t, tt.allow)
			var got []Finding
			if tt.head == "" {
				got = s.ScanAdded(tt.file, tt.added)
			} else {
				got = s.ScanChange(tt.file, []byte(tt.head), tt.added)
			}
			if !reflect.DeepEqual(places(got), tt.want) {
				t.Errorf("got %v, want %v", places(got), tt.want)
			}
			for _, f := range got {
				if f.Source != SourceAddedLine || f.File != tt.file || len(f.Fingerprint) != 16 {
					t.Errorf("finding %+v: want source %q, file %q, a 16-digit fingerprint", f, SourceAddedLine, tt.file)
				}
			}
		})
	}
}

func TestScanManifests(t *testing.T) {
	parse := func(text, source string) []manifest.Object {
		objs, err := manifest.Parse([]byte(text), source)
		if err != nil {
			t.Fatal(err)
		}
		return objs
	}
	tests := []struct {
		name  string
		objs  []manifest.Object
		allow Allowlist
		want  []Finding
	}{
		{
			name: "a rendered Secret, located by resource and source file",
			objs: parse(secretDoc, "apps/db/secret.yaml"),
			want: []Finding{{
				RuleID: RuleKubernetesSecret, File: "apps/db/secret.yaml", Line: 3, Column: 3,
				Resource: "Secret/db", Source: "rendered:prod",
				Fingerprint: Fingerprint(RuleKubernetesSecret, "apps/db/secret.yaml", "Secret/db:3"),
			}},
		},
		{
			name: "a token in a ConfigMap that a chart rendered from values",
			objs: parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  AWS_KEY_ID: "+fakeAWSKeyID+"\n", ""),
			want: []Finding{{
				RuleID: "aws-access-token", Line: 3, Column: 15, Resource: "ConfigMap/c", Source: "rendered:prod",
				Fingerprint: Fingerprint("aws-access-token", "", "ConfigMap/c:3"),
			}},
		},
		{
			name: "a token in base64 Secret data is named by its own rule too",
			objs: parse("apiVersion: v1\nkind: Secret\nmetadata: {name: gh}\ndata:\n  token: Z2hwX0ZlcnJ5RmFrZXVLY0xxMmN5aE1HQXVHa2JNNkJPdktHVFM2ZA==\n", "gh.yaml"),
			want: []Finding{
				{RuleID: "github-pat", File: "gh.yaml", Line: 3, Column: 10, Resource: "Secret/gh", Source: "rendered:prod",
					Fingerprint: Fingerprint("github-pat", "gh.yaml", "Secret/gh:3")},
				{RuleID: RuleKubernetesSecret, File: "gh.yaml", Line: 3, Column: 3, Resource: "Secret/gh", Source: "rendered:prod",
					Fingerprint: Fingerprint(RuleKubernetesSecret, "gh.yaml", "Secret/gh:3")},
			},
		},
		{
			name:  "allowlisted source path",
			objs:  parse(secretDoc, "apps/db/secret.yaml"),
			allow: Allowlist{Paths: []string{"apps/db/*"}},
		},
		{
			name: "SealedSecret and placeholders",
			objs: parse("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: s}\nspec:\n  encryptedData:\n    password: AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq6Ks8sWZ9Ck7xTlOYnLiPEnKDpHgbDN7CBpW7fIY2jZ7gWPE8/AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: p}\nstringData: {password: changeme, token: '${TOKEN}'}\n", ""),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestScanner(t, tt.allow)
			got := s.ScanManifests("prod", tt.objs)
			for i := range got {
				got[i].Description = ""
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	a := Fingerprint("github-pat", "a.sh", "1")
	for _, other := range []string{
		Fingerprint("github-pat", "a.sh", "2"),
		Fingerprint("github-pat", "b.sh", "1"),
		Fingerprint("slack-bot-token", "a.sh", "1"),
		// The separator keeps "a.sh"+"1" apart from "a.s"+"h1".
		Fingerprint("github-pat", "a.s", "h1"),
	} {
		if other == a {
			t.Errorf("fingerprint collision: %s", a)
		}
	}
	if a != Fingerprint("github-pat", "a.sh", "1") || len(a) != 16 {
		t.Errorf("fingerprint %q is not stable or not 16 digits", a)
	}
}

func TestAddedLines(t *testing.T) {
	big := strings.Repeat("x\n", MaxTextFileSize/2+1)
	base := testrepo.Tree(t, map[string]string{
		"changed.yaml":   "a: 1\nb: 2\nc: 3\n",
		"deleted.yaml":   "gone: true\n",
		"binary-was.txt": "old\x00bytes\n",
		"crlf.txt":       "one\r\ntwo\r\n",
		"unchanged.txt":  "same\n",
	})
	head := testrepo.Tree(t, map[string]string{
		"changed.yaml":   "a: 1\nnew: x\nb: 2\nc: 33\n",
		"new.txt":        "first\nsecond",
		"binary-was.txt": "text now\n",
		"binary.bin":     "PNG\x00\x01\x02",
		"big.txt":        big,
		"crlf.txt":       "one\r\ntwo\r\nthree\r\n",
		"link.txt":       "symlink:new.txt",
		"unchanged.txt":  "same\n",
	})
	changed := repofs.Changed(base, head)
	got, err := AddedLines(base, head, changed)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]AddedLine{
		"changed.yaml":   {{2, "new: x"}, {4, "c: 33"}},
		"new.txt":        {{1, "first"}, {2, "second"}},
		"binary-was.txt": {{1, "text now"}},
		"crlf.txt":       {{3, "three"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AddedLines() =\n%v\nwant\n%v", got, want)
	}
	// A nil base (a new repository) adds every line.
	got, err = AddedLines(nil, head, []string{"changed.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got["changed.yaml"]); n != 4 {
		t.Errorf("with no base, %d lines added, want 4", n)
	}
}

func TestScanDiff(t *testing.T) {
	base := testrepo.Tree(t, map[string]string{
		"k8s/secret.yaml": secretDoc,
		"old.sh":          "T=" + fakeGitHubPAT + "\n",
	})
	head := testrepo.Tree(t, map[string]string{
		"k8s/secret.yaml": secretDoc + "  token: RmVycnlGYWtlRGItSURNYnNOSVp3ZzZIYk9JSA==\n",
		"old.sh":          "T=" + fakeGitHubPAT + "\necho done\n",
		"new.ini":         "key_id = " + fakeAWSKeyID + "\n",
	})
	s := newTestScanner(t, Allowlist{})
	got, err := s.ScanDiff(context.Background(), base, head, repofs.Changed(base, head))
	if err != nil {
		t.Fatal(err)
	}
	// The token already in old.sh and the Secret's existing key are not
	// new in this change.
	want := []place{{RuleKubernetesSecret, 7, 3}, {"aws-access-token", 1, 10}}
	if !reflect.DeepEqual(places(got), want) {
		t.Errorf("ScanDiff() = %v, want %v", places(got), want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.ScanDiff(ctx, base, head, []string{"new.ini"}); err == nil {
		t.Error("ScanDiff with a cancelled context succeeded")
	}
}

func TestNewScannerErrors(t *testing.T) {
	for _, allow := range []Allowlist{
		{Paths: []string{"docs/["}},
		{Paths: []string{" "}},
		{Regexes: []string{"a("}},
	} {
		if _, err := NewScanner(allow); err == nil {
			t.Errorf("NewScanner(%+v) succeeded", allow)
		}
	}
}

func TestPlaceholders(t *testing.T) {
	for _, v := range []string{"", `""`, "changeme", "CHANGE_ME", "<password>", "${VAR}", "$VAR", "REPLACE_ME",
		"xxx", "XXXXXXXX", "****", "{{ .Values.x }}", "your-password-here", "%PASS%", "placeholder"} {
		if !isPlaceholder(v) {
			t.Errorf("isPlaceholder(%q) = false", v)
		}
	}
	for _, v := range []string{"Ferry#Fake!dv9Jxl@RLKej", "payments", "hunter2", "s3cr3t-Pa55"} {
		if isPlaceholder(v) {
			t.Errorf("isPlaceholder(%q) = true", v)
		}
	}
}

// TestRulesShared: scanners made from one Rules keep their allowlists to
// themselves, also when used at the same time (run with -race).
func TestRulesShared(t *testing.T) {
	rules, err := LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	strict, err := rules.Scanner(Allowlist{})
	if err != nil {
		t.Fatal(err)
	}
	lenient, err := rules.Scanner(Allowlist{Regexes: []string{"^ghp_FerryFake"}})
	if err != nil {
		t.Fatal(err)
	}
	added := lines(1, "T="+fakeGitHubPAT)
	done := make(chan []Finding, 2)
	go func() { done <- strict.ScanAdded("a.sh", added) }()
	go func() { done <- lenient.ScanAdded("a.sh", added) }()
	got := len(<-done) + len(<-done)
	if got != 1 {
		t.Errorf("%d findings from the two scanners, want 1 (the strict one's)", got)
	}
	if n := len(strict.ScanAdded("a.sh", added)); n != 1 {
		t.Errorf("strict scanner: %d findings after the lenient one was made, want 1", n)
	}
}

// TestUnscannedObjectsAreReported: an object that cannot be printed is
// skipped and returned for the caller to log, by type only.
func TestUnscannedObjectsAreReported(t *testing.T) {
	s := newTestScanner(t, Allowlist{})
	bad := manifest.New(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c"}, "data": map[string]any{"f": func() {}}}, "app/cm.yaml")
	if got := s.ScanManifests("prod", []manifest.Object{bad}); got != nil {
		t.Errorf("findings = %v, want none", got)
	}
	got := s.Unscanned()
	if len(got) != 1 || got[0].Env != "prod" || got[0].Resource != "ConfigMap/c" || got[0].ErrorType == "" {
		t.Errorf("Unscanned() = %+v, want the ConfigMap of prod with its error's type", got)
	}
}
