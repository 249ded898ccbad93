package diff

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

func parse(t testing.TB, yaml string) []manifest.Object {
	t.Helper()
	objs, err := manifest.Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return objs
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
  labels:
    app: web
    helm.sh/chart: web-1.2.3
  annotations:
    checksum/config: abc
spec:
  replicas: %d
  template:
    metadata:
      labels:
        app: web
        helm.sh/chart: web-1.2.3
      annotations:
        checksum/config: %s
    spec:
      containers:
      - name: web
        image: web:1
`

func TestCompare(t *testing.T) {
	svc := "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  ports:\n  - port: 80\n"
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: prod\ndata:\n  a: \"1\"\n"
	ns := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n"
	tests := []struct {
		name       string
		base, head string
		opts       Options
		want       map[string]ChangeType // key string -> change
		wantOrder  []string
		wantInDiff map[string][]string // key string -> substrings of its diff
		noDiffText []string            // must not appear in any diff
	}{
		{
			name: "added removed changed unchanged",
			base: svc + "---\n" + cm + "---\n" + fmt.Sprintf(deployment, 1, "x"),
			head: ns + "---\n" + svc + "---\n" + fmt.Sprintf(deployment, 2, "x"),
			want: map[string]ChangeType{
				"Namespace/prod":           Added,
				"ConfigMap/prod/cfg":       Removed,
				"Service/prod/web":         Unchanged,
				"apps/Deployment/prod/web": Changed,
			},
			// Namespaces first, then kinds in apply order.
			wantOrder: []string{"Namespace/prod", "ConfigMap/prod/cfg", "Service/prod/web", "apps/Deployment/prod/web"},
			wantInDiff: map[string][]string{
				"Namespace/prod":           {"--- base/Namespace/prod\n+++ head/Namespace/prod\n@@ -0,0 +1,4 @@\n+apiVersion: v1\n"},
				"ConfigMap/prod/cfg":       {"@@ -1,7 +0,0 @@\n-apiVersion: v1\n", "-  a: \"1\"\n"},
				"apps/Deployment/prod/web": {"--- base/apps/Deployment/prod/web\n+++ head/apps/Deployment/prod/web\n", "-  replicas: 1\n+  replicas: 2\n"},
			},
		},
		{
			name: "ignored annotations alone are no change",
			base: fmt.Sprintf(deployment, 1, "old"),
			head: fmt.Sprintf(deployment, 1, "new"),
			opts: Options{IgnoreAnnotations: []string{"checksum/*"}, IgnoreLabels: []string{"helm.sh/chart"}},
			want: map[string]ChangeType{"apps/Deployment/prod/web": Unchanged},
		},
		{
			name: "without ignores the template annotation shows",
			base: fmt.Sprintf(deployment, 1, "old"),
			head: fmt.Sprintf(deployment, 1, "new"),
			want: map[string]ChangeType{"apps/Deployment/prod/web": Changed},
			wantInDiff: map[string][]string{
				"apps/Deployment/prod/web": {"-        checksum/config: old\n+        checksum/config: new\n"},
			},
		},
		{
			name: "ignored keys are left out of a real diff",
			base: fmt.Sprintf(deployment, 1, "old"),
			head: fmt.Sprintf(deployment, 3, "new"),
			opts: Options{IgnoreAnnotations: []string{"checksum/*"}, IgnoreLabels: []string{"helm.sh/*"}},
			want: map[string]ChangeType{"apps/Deployment/prod/web": Changed},
			wantInDiff: map[string][]string{
				"apps/Deployment/prod/web": {"+  replicas: 3\n"},
			},
			// Emptied annotation maps go away rather than print as {}.
			noDiffText: []string{"checksum", "helm.sh/chart", "annotations"},
		},
		{
			// .ferry.yaml's "checksum/*" is Helm's checksum/secrets/db too:
			// "*" spans "/".
			name: "a glob matches keys with more slashes",
			base: strings.Replace(fmt.Sprintf(deployment, 1, "old"), "checksum/config: old", "checksum/config: old\n        checksum/secrets/db: 1a2b", 1),
			head: strings.Replace(fmt.Sprintf(deployment, 2, "new"), "checksum/config: new", "checksum/config: new\n        checksum/secrets/db: 3c4d", 1),
			opts: Options{IgnoreAnnotations: []string{"checksum/*"}},
			want: map[string]ChangeType{"apps/Deployment/prod/web": Changed},
			wantInDiff: map[string][]string{
				"apps/Deployment/prod/web": {"-  replicas: 1\n+  replicas: 2\n"},
			},
			noDiffText: []string{"checksum", "1a2b", "3c4d"},
		},
		{
			name: "context option",
			base: fmt.Sprintf(deployment, 1, "x"),
			head: fmt.Sprintf(deployment, 2, "x"),
			opts: Options{Context: -1},
			want: map[string]ChangeType{"apps/Deployment/prod/web": Changed},
			wantInDiff: map[string][]string{
				"apps/Deployment/prod/web": {"@@ -12 +12 @@\n-  replicas: 1\n+  replicas: 2\n"},
			},
		},
		{
			name: "duplicate key: the later object wins",
			base: cm,
			head: cm + "---\n" + strings.Replace(cm, `"1"`, `"2"`, 1),
			want: map[string]ChangeType{"ConfigMap/prod/cfg": Changed},
			wantInDiff: map[string][]string{
				"ConfigMap/prod/cfg": {"-  a: \"1\"\n+  a: \"2\"\n"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, head := parse(t, tt.base), parse(t, tt.head)
			got := Compare(base, head, tt.opts)
			byKey := map[string]Change{}
			var order []string
			for _, c := range got {
				byKey[c.Key.String()] = c
				order = append(order, c.Key.String())
				if (c.Change == Unchanged) != (c.Diff == "") {
					t.Errorf("%s: change %s with diff %q", c.Key, c.Change, c.Diff)
				}
				for _, s := range tt.noDiffText {
					if strings.Contains(c.Diff, s) {
						t.Errorf("%s: diff contains %q:\n%s", c.Key, s, c.Diff)
					}
				}
			}
			gotTypes := map[string]ChangeType{}
			for k, c := range byKey {
				gotTypes[k] = c.Change
			}
			if !reflect.DeepEqual(gotTypes, tt.want) {
				t.Errorf("changes = %v, want %v", gotTypes, tt.want)
			}
			if tt.wantOrder != nil && !reflect.DeepEqual(order, tt.wantOrder) {
				t.Errorf("order = %v, want %v", order, tt.wantOrder)
			}
			for k, subs := range tt.wantInDiff {
				for _, s := range subs {
					if !strings.Contains(byKey[k].Diff, s) {
						t.Errorf("%s: diff lacks %q:\n%s", k, s, byKey[k].Diff)
					}
				}
			}
		})
	}
}

func TestCompareLeavesInputAlone(t *testing.T) {
	base := parse(t, fmt.Sprintf(deployment, 1, "old"))
	head := parse(t, fmt.Sprintf(deployment, 2, "new"))
	want := parse(t, fmt.Sprintf(deployment, 1, "old"))
	Compare(base, head, Options{IgnoreAnnotations: []string{"checksum/*"}, IgnoreLabels: []string{"*"}})
	if !reflect.DeepEqual(base, want) {
		t.Errorf("Compare modified its input:\n%v", base[0].Object)
	}
}

func TestMatchKey(t *testing.T) {
	for _, tt := range []struct {
		pattern, key string
		want         bool
	}{
		{"helm.sh/chart", "helm.sh/chart", true},
		{"helm.sh/chart", "helm.sh/chart-x", false},
		{"app.kubernetes.io/*", "app.kubernetes.io/version", true},
		{"app.kubernetes.io/*", "app.kubernetes.io", false},
		{"app.kubernetes.io/*", "app", false},
		{"checksum/*", "checksum/config", true},
		{"checksum/*", "checksum/secrets/db", true},
		{"checksum/*", "checksum/", true},
		{"checksum/*", "checksum", false},
		{"*/last-applied-*", "kubectl.kubernetes.io/last-applied-configuration", true},
		{"*/last-applied-*", "helm.sh/chart", false},
		{"*", "anything/at/all", true},
		{"*", "", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "a/x/b/y/c", true},
		{"a*b*c", "acb", false},
		{"a*a", "a", false},
		{"ab*b", "ab", false},
		{"*.io/*", "example.io/x", true},
		// Nothing but "*" is special: these are literal keys.
		{"checksum/[", "checksum/[", true},
		{"checksum/?", "checksum/a", false},
	} {
		if got := MatchKey(tt.pattern, tt.key); got != tt.want {
			t.Errorf("MatchKey(%q, %q) = %v, want %v", tt.pattern, tt.key, got, tt.want)
		}
	}
}

func secretYAML(data, stringData map[string]string, lastApplied string) string {
	var sb strings.Builder
	sb.WriteString("apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: prod\n")
	if lastApplied != "" {
		fmt.Fprintf(&sb, "  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: %q\n", lastApplied)
	}
	write := func(field string, m map[string]string, encode bool) {
		if m == nil {
			return
		}
		fmt.Fprintf(&sb, "%s:\n", field)
		for k, v := range m {
			if encode {
				v = base64.StdEncoding.EncodeToString([]byte(v))
			}
			fmt.Fprintf(&sb, "  %s: %q\n", k, v)
		}
	}
	write("data", data, true)
	write("stringData", stringData, false)
	return sb.String()
}

func TestSecretValuesNeverShown(t *testing.T) {
	const (
		oldPass  = "hunter2-old-Pa55"
		newPass  = "s3cret-new-Pa55"
		token    = "tok-3141592653"
		newToken = "tok-2718281828"
		apiKey   = "key-added-xyz"
		removed  = "removed-value-qq"
	)
	values := []string{oldPass, newPass, token, newToken, apiKey, removed}
	tests := []struct {
		name       string
		base, head string
		want       ChangeType
		wantKeys   *SecretKeys
		wantLines  []string // lines the diff must show
	}{
		{
			name: "values change in data and stringData",
			base: secretYAML(map[string]string{"password": oldPass, "same": "unchanged-value-1", "old": removed},
				map[string]string{"token": token}, `{"data":{"password":"`+oldPass+`"}}`),
			head: secretYAML(map[string]string{"password": newPass, "same": "unchanged-value-1", "apikey": apiKey},
				map[string]string{"token": newToken}, `{"data":{"password":"`+newPass+`"}}`),
			want: Changed,
			wantKeys: &SecretKeys{
				Added:   []string{"apikey"},
				Removed: []string{"old"},
				Changed: []string{"password", "token"},
			},
			wantLines: []string{
				"-  password: (redacted)", "+  password: (redacted, changed)",
				"-  token: (redacted)", "+  token: (redacted, changed)",
				"+  apikey: (redacted)", "-  old: (redacted)",
				"   same: (redacted)",
				"-    kubectl.kubernetes.io/last-applied-configuration: (redacted)",
				"+    kubectl.kubernetes.io/last-applied-configuration: (redacted, changed)",
			},
		},
		{
			name:      "added secret",
			head:      secretYAML(map[string]string{"password": newPass}, nil, ""),
			want:      Added,
			wantKeys:  &SecretKeys{Added: []string{"password"}},
			wantLines: []string{"+  password: (redacted)"},
		},
		{
			name:      "removed secret",
			base:      secretYAML(nil, map[string]string{"token": token}, `{"stringData":{"token":"`+token+`"}}`),
			want:      Removed,
			wantKeys:  &SecretKeys{Removed: []string{"token"}},
			wantLines: []string{"-  token: (redacted)", "-    kubectl.kubernetes.io/last-applied-configuration: (redacted)"},
		},
		{
			name:      "moving a value from data to stringData is not a value change",
			base:      secretYAML(map[string]string{"password": oldPass}, nil, ""),
			head:      secretYAML(nil, map[string]string{"password": oldPass}, ""),
			want:      Changed,
			wantKeys:  &SecretKeys{},
			wantLines: []string{"-data:", "-  password: (redacted)", "+stringData:", "+  password: (redacted)"},
		},
		{
			name:      "field names in another case are hidden too",
			base:      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: prod\nData:\n  password: " + base64.StdEncoding.EncodeToString([]byte(oldPass)) + "\nSTRINGDATA:\n  token: " + token + "\n",
			head:      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: prod\nData:\n  password: " + base64.StdEncoding.EncodeToString([]byte(newPass)) + "\nSTRINGDATA:\n  token: " + newToken + "\n",
			want:      Changed,
			wantKeys:  &SecretKeys{Changed: []string{"password", "token"}},
			wantLines: []string{"-  password: (redacted)", "+  password: (redacted, changed)", "+  token: (redacted, changed)"},
		},
		{
			name: "same values",
			base: secretYAML(map[string]string{"password": oldPass}, nil, ""),
			head: secretYAML(map[string]string{"password": oldPass}, nil, ""),
			want: Unchanged,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var base, head []manifest.Object
			if tt.base != "" {
				base = parse(t, tt.base)
			}
			if tt.head != "" {
				head = parse(t, tt.head)
			}
			got := Compare(base, head, Options{})
			if len(got) != 1 {
				t.Fatalf("got %d changes, want 1", len(got))
			}
			c := got[0]
			if c.Change != tt.want {
				t.Errorf("change = %s, want %s", c.Change, tt.want)
			}
			if !reflect.DeepEqual(c.SecretKeys, tt.wantKeys) {
				t.Errorf("SecretKeys = %+v, want %+v", c.SecretKeys, tt.wantKeys)
			}
			for _, l := range tt.wantLines {
				if !strings.Contains(c.Diff, "\n"+l+"\n") {
					t.Errorf("diff lacks line %q:\n%s", l, c.Diff)
				}
			}
			for _, v := range values {
				b64 := base64.StdEncoding.EncodeToString([]byte(v))
				// Also the base64 of the base64 form, which is what a
				// data value would be if it leaked encoded again.
				for _, form := range []string{v, b64, base64.StdEncoding.EncodeToString([]byte(b64))} {
					if strings.Contains(c.Diff, form) {
						t.Errorf("diff contains secret value form %q:\n%s", form, c.Diff)
					}
				}
			}
			if strings.Contains(c.Diff, "unchanged-value-1") {
				t.Errorf("diff contains an unchanged secret value:\n%s", c.Diff)
			}
		})
	}
}

// TestSecretInputAlone makes sure redaction works on copies: the caller's
// objects still hold the real values (a render is reused for sync).
func TestSecretInputAlone(t *testing.T) {
	y := secretYAML(map[string]string{"password": "p1"}, nil, `{"x":"p1"}`)
	base := parse(t, y)
	head := parse(t, strings.Replace(y, base64.StdEncoding.EncodeToString([]byte("p1")), base64.StdEncoding.EncodeToString([]byte("p2")), 1))
	want := parse(t, y)
	Compare(base, head, Options{})
	if !reflect.DeepEqual(base, want) {
		t.Errorf("Compare modified its input: %v", base[0].Object)
	}
}

func BenchmarkCompare(b *testing.B) {
	var base, head []manifest.Object
	for i := range 1000 {
		replicas := 1
		if i%20 == 0 {
			replicas = 2 // one in twenty workloads changes
		}
		base = append(base, parse(b, strings.Replace(fmt.Sprintf(deployment, 1, "x"), "name: web\n  namespace", fmt.Sprintf("name: web-%d\n  namespace", i), 1))...)
		head = append(head, parse(b, strings.Replace(fmt.Sprintf(deployment, replicas, "y"), "name: web\n  namespace", fmt.Sprintf("name: web-%d\n  namespace", i), 1))...)
	}
	opts := Options{IgnoreAnnotations: []string{"checksum/*"}}
	b.ReportAllocs()
	for b.Loop() {
		changes := Compare(base, head, opts)
		if len(changes) != 1000 {
			b.Fatalf("got %d changes", len(changes))
		}
	}
}
