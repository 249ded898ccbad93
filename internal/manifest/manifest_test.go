package manifest

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// lines joins YAML lines, so a test can count them.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func keyStrings(objs []Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.Key.String()
	}
	return out
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // Key.String of each object, in order
	}{
		{
			name: "multi-document stream",
			in: lines(
				"apiVersion: v1",
				"kind: Namespace",
				"metadata: {name: web}",
				"---",
				"apiVersion: apps/v1",
				"kind: Deployment",
				"metadata: {name: api, namespace: web}",
				"---",
				"apiVersion: networking.k8s.io/v1",
				"kind: Ingress",
				"metadata: {name: api, namespace: web}",
			),
			want: []string{"Namespace/web", "apps/Deployment/web/api", "networking.k8s.io/Ingress/web/api"},
		},
		{
			name: "empty, comment-only and null documents are skipped",
			in: lines(
				"---",
				"---",
				"# only a comment",
				"---",
				"apiVersion: v1",
				"kind: ConfigMap",
				"metadata: {name: a}",
				"---",
				"null",
				"---",
				"~",
				"---",
				"",
				"---",
				"apiVersion: v1",
				"kind: ConfigMap",
				"metadata: {name: b}",
				"---",
			),
			want: []string{"ConfigMap/a", "ConfigMap/b"},
		},
		{
			name: "empty stream",
			in:   "",
			want: nil,
		},
		{
			name: "List is expanded into its items",
			in: lines(
				"apiVersion: v1",
				"kind: Service",
				"metadata: {name: first, namespace: ns}",
				"---",
				"apiVersion: v1",
				"kind: List",
				"items:",
				"- apiVersion: v1",
				"  kind: ConfigMap",
				"  metadata: {name: one, namespace: ns}",
				"- not an object",
				"- apiVersion: rbac.authorization.k8s.io/v1",
				"  kind: Role",
				"  metadata: {name: two, namespace: ns}",
			),
			want: []string{"Service/ns/first", "ConfigMap/ns/one", "rbac.authorization.k8s.io/Role/ns/two"},
		},
		{
			name: "typed lists and empty lists",
			in: lines(
				"apiVersion: v1",
				"kind: ConfigMapList",
				"items:",
				"- {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}",
				"---",
				"apiVersion: v1",
				"kind: List",
				"items: []",
			),
			want: []string{"ConfigMap/x"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Parse([]byte(tc.in), "deploy/app.yaml")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := keyStrings(objs); !reflect.DeepEqual(got, tc.want) && (len(got) != 0 || len(tc.want) != 0) {
				t.Errorf("keys = %q, want %q", got, tc.want)
			}
			for _, o := range objs {
				if o.Source != "deploy/app.yaml" {
					t.Errorf("%s: Source = %q, want the file parsed", o.Key, o.Source)
				}
				if o.Key != KeyOf(o.Object) {
					t.Errorf("Key %+v does not match KeyOf the object %+v", o.Key, KeyOf(o.Object))
				}
			}
		})
	}
}

func TestParseErrorLine(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantLine int
		wantErr  string // in the message
	}{
		{
			// yaml.v3 names line 3 here (the 0-based start of the mapping).
			name: "key indented less than its siblings in the second of three documents",
			in: lines(
				"apiVersion: v1", // 1
				"kind: Namespace",
				"---",
				"apiVersion: v1",
				"metadata:", // 5
				"  name: web",
				" namespace: prod", // 7: bad indentation
				"---",
				"apiVersion: v1",
				"kind: ConfigMap", // 10
			),
			wantLine: 7,
			wantErr:  "did not find expected key",
		},
		{
			name: "key indented more than its siblings",
			in: lines(
				"apiVersion: v1", // 1
				"kind: Namespace",
				"---",
				"apiVersion: v1",
				"metadata:", // 5
				"  name: web",
				"    namespace: prod", // 7
				"---",
				"kind: ConfigMap",
			),
			wantLine: 7,
			wantErr:  "mapping values are not allowed in this context",
		},
		{
			name: "list item indented less than the previous key",
			in: lines(
				"kind: Pod", // 1
				"spec:",
				"  containers:",
				"  - name: a",
				"   image: x", // 5
			),
			wantLine: 5,
			wantErr:  "did not find expected key",
		},
		{
			name: "sequence entry after a mapping in the first document",
			in: lines(
				"kind: Pod", // 1
				"- x",       // 2
			),
			wantLine: 2,
			wantErr:  "did not find expected key",
		},
		{
			name: "mapping after a sequence on line 2",
			in: lines(
				"- a",
				"b: c", // 2
			),
			wantLine: 2,
			wantErr:  "did not find expected '-' indicator",
		},
		{
			name: "tab indentation",
			in: lines(
				"kind: A", // 1
				"---",
				"data:",
				"\tkey: v", // 4
			),
			wantLine: 4,
			wantErr:  "found character that cannot start any token",
		},
		{
			name: "unterminated quoted string is reported where it starts",
			in: lines(
				"kind: A", // 1
				"---",
				"data:",
				`  k: "unterminated`, // 4
				"  j: 2",
			),
			wantLine: 4,
			wantErr:  "found unexpected end of stream",
		},
		{
			name: "bracket left open at the end of the file",
			in: lines(
				"apiVersion: v1", // 1
				"kind: ConfigMap",
				"metadata:",
				"  name: x",
				"  labels: [", // 5
				"",
				"",
			),
			wantLine: 5,
			wantErr:  "did not find expected node content",
		},
		{
			name:     "error on the first line",
			in:       lines("image: repo: tag", "kind: A"),
			wantLine: 1,
			wantErr:  "mapping values are not allowed in this context",
		},
		{
			name:     "unknown alias on the first line",
			in:       lines("a: *nowhere", "kind: A"),
			wantLine: 1,
			wantErr:  "unknown anchor 'nowhere' referenced",
		},
		{
			name: "document that is a sequence",
			in: lines(
				"kind: A", // 1
				"---",
				"- 1", // 3
				"- 2",
			),
			wantLine: 3,
			wantErr:  "cannot unmarshal !!seq",
		},
		{
			name: "duplicate key",
			in: lines(
				"kind: A", // 1
				"---",
				"kind: B",
				"metadata: {name: b}",
				"kind: C", // 5
			),
			wantLine: 5,
			wantErr:  `mapping key "kind" already defined at line 3`,
		},
		{
			name: "value that does not match its explicit tag",
			in: lines(
				"kind: A", // 1
				"---",
				"kind: Deployment",
				"spec:",
				"  replicas: !!int three", // 5
			),
			wantLine: 5,
			wantErr:  "cannot decode !!str `three` as a !!int",
		},
		{
			name: "number JSON cannot hold",
			in: lines(
				"kind: A", // 1
				"---",
				"kind: B",
				"spec:",
				"  a: 1",    // 5
				"  b: .inf", // 6
			),
			wantLine: 6,
			wantErr:  "unsupported value: +Inf",
		},
		{
			name: "merge of a scalar",
			in: lines(
				"kind: A", // 1
				"---",
				"kind: B",
				"spec:",
				"  a: 1", // 5
				"  <<: 1",
			),
			wantLine: 6,
			wantErr:  "map merge requires map or sequence of maps",
		},
		{
			name: "non-string key in a nested mapping",
			in: lines(
				"kind: A", // 1
				"---",
				"kind: ConfigMap",
				"data:",
				"  a: x", // 5
				"  1: y",
			),
			wantLine: 6,
			wantErr:  "unsupported type",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Parse([]byte(tc.in), "deploy/app.yaml")
			if err == nil {
				t.Fatalf("Parse succeeded with %q, want an error", keyStrings(objs))
			}
			if objs != nil {
				t.Errorf("Parse returned %d objects with the error", len(objs))
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ParseError", err, err)
			}
			if pe.File != "deploy/app.yaml" || pe.Line != tc.wantLine {
				t.Errorf("error at %s:%d, want deploy/app.yaml:%d (%v)", pe.File, pe.Line, tc.wantLine, err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || errors.Unwrap(err) == nil ||
				!strings.HasPrefix(err.Error(), "deploy/app.yaml:"+itoa(tc.wantLine)+": ") {
				t.Errorf("error = %q, want file:line and %q", err, tc.wantErr)
			}
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestParseErrorFormat(t *testing.T) {
	inner := errors.New("boom")
	tests := []struct {
		err  *ParseError
		want string
	}{
		{&ParseError{File: "a.yaml", Line: 7, Err: inner}, "a.yaml:7: boom"},
		{&ParseError{File: "a.yaml", Err: inner}, "a.yaml: boom"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if !errors.Is(tc.err, inner) {
			t.Errorf("%v does not unwrap to its cause", tc.err)
		}
	}
}

func TestKeyOf(t *testing.T) {
	tests := []struct {
		name string
		obj  map[string]any
		want Key
		str  string
	}{
		{
			name: "core kind",
			obj:  map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "cfg", "namespace": "web"}},
			want: Key{Kind: "ConfigMap", Namespace: "web", Name: "cfg"},
			str:  "ConfigMap/web/cfg",
		},
		{
			name: "group kind",
			obj:  map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "api", "namespace": "web"}},
			want: Key{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "api"},
			str:  "apps/Deployment/web/api",
		},
		{
			name: "dotted group, cluster-scoped",
			obj:  map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": "view"}},
			want: Key{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"},
			str:  "rbac.authorization.k8s.io/ClusterRole/view",
		},
		{
			name: "CRD",
			obj:  map[string]any{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": map[string]any{"name": "widgets.example.com"}},
			want: Key{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition", Name: "widgets.example.com"},
			str:  "apiextensions.k8s.io/CustomResourceDefinition/widgets.example.com",
		},
		{
			name: "no metadata, no apiVersion",
			obj:  map[string]any{"kind": "Thing"},
			want: Key{Kind: "Thing"},
			str:  "Thing/",
		},
		{
			name: "wrongly typed fields are ignored",
			obj:  map[string]any{"apiVersion": 1.0, "kind": true, "metadata": map[string]any{"name": 3.0, "namespace": []any{"x"}}},
			want: Key{},
			str:  "/",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := KeyOf(tc.obj)
			if got != tc.want {
				t.Errorf("KeyOf = %+v, want %+v", got, tc.want)
			}
			if s := got.String(); s != tc.str {
				t.Errorf("String() = %q, want %q", s, tc.str)
			}
			if o := New(tc.obj, "f.yaml"); o.Key != tc.want || o.Source != "f.yaml" {
				t.Errorf("New = %+v, want key %+v from f.yaml", o, tc.want)
			}
		})
	}
	if v := New(map[string]any{"apiVersion": "apps/v1"}, "").APIVersion(); v != "apps/v1" {
		t.Errorf("APIVersion() = %q", v)
	}
}

func TestSort(t *testing.T) {
	k := func(group, kind, ns, name string) Key {
		return Key{Group: group, Kind: kind, Namespace: ns, Name: name}
	}
	want := []Key{
		k("", "Namespace", "", "a"),
		k("", "Namespace", "", "b"),
		k("apiextensions.k8s.io", "CustomResourceDefinition", "", "widgets.example.com"),
		k("networking.k8s.io", "NetworkPolicy", "web", "deny"),
		k("", "ServiceAccount", "web", "api"),
		k("", "Secret", "web", "tls"),
		k("", "ConfigMap", "a", "z"),
		k("", "ConfigMap", "b", "a"),
		k("rbac.authorization.k8s.io", "ClusterRole", "", "view"),
		k("", "Service", "web", "api"),
		k("apps", "Deployment", "web", "api"),
		k("apps", "Deployment", "web", "worker"),
		k("batch", "Job", "web", "migrate"),
		k("networking.k8s.io", "Ingress", "web", "api"),
		k("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", "", "check"),
		// Unknown kinds last, by kind, then group, namespace, name.
		k("cert-manager.io", "Certificate", "web", "tls"),
		k("a.example.com", "Widget", "web", "x"),
		k("b.example.com", "Widget", "", "x"),
		k("b.example.com", "Widget", "web", "x"),
	}
	for seed := range uint64(20) {
		objs := make([]Object, len(want))
		for i, key := range want {
			objs[i] = Object{Key: key}
		}
		r := rand.New(rand.NewPCG(seed, seed))
		r.Shuffle(len(objs), func(i, j int) { objs[i], objs[j] = objs[j], objs[i] })
		Sort(objs)
		for i := range objs {
			if objs[i].Key != want[i] {
				t.Fatalf("seed %d: position %d = %s, want %s\ngot order %q", seed, i, objs[i].Key, want[i], keyStrings(objs))
			}
		}
	}

	ranks := []struct {
		kind string
		want int
	}{
		{"Namespace", -2},
		{"CustomResourceDefinition", -1},
		{"NetworkPolicy", 1},
		{"MutatingWebhookConfiguration", len(kindOrder) - 2},
		{"Widget", len(kindOrder)},
		{"", len(kindOrder)},
	}
	for _, tc := range ranks {
		if got := KindRank(tc.kind); got != tc.want {
			t.Errorf("KindRank(%q) = %d, want %d", tc.kind, got, tc.want)
		}
	}
	if Less(want[0], want[0]) {
		t.Errorf("Less(k, k) = true, want a strict order")
	}
}

func TestMarshalDeterministic(t *testing.T) {
	obj := map[string]any{
		"kind":       "Deployment",
		"apiVersion": "apps/v1",
		"metadata": map[string]any{
			"name":   "api",
			"labels": map[string]any{"z": "1", "a": "2", "m": "3", "b": "4", "y": "5"},
		},
		"spec": map[string]any{"replicas": 3, "template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "api", "image": "api:1", "args": []any{"--b", "--a"}}},
		}}},
	}
	want := lines(
		"apiVersion: apps/v1",
		"kind: Deployment",
		"metadata:",
		"  labels:",
		`    a: "2"`,
		`    b: "4"`,
		`    m: "3"`,
		`    "y": "5"`,
		`    z: "1"`,
		"  name: api",
		"spec:",
		"  replicas: 3",
		"  template:",
		"    spec:",
		"      containers:",
		"      - args:",
		"        - --b",
		"        - --a",
		"        image: api:1",
		"        name: api",
	)
	for i := range 20 {
		got, err := Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Fatalf("Marshal #%d =\n%s\nwant\n%s", i, got, want)
		}
	}

	// Parsed back, the object prints the same bytes again.
	objs, err := Parse([]byte(want), "x.yaml")
	if err != nil || len(objs) != 1 {
		t.Fatalf("Parse(Marshal) = %d objects, %v", len(objs), err)
	}
	again, err := Marshal(objs[0].Object)
	if err != nil || string(again) != want {
		t.Errorf("Marshal(Parse(Marshal)) =\n%s, %v", again, err)
	}

	stream, err := Stream([]Object{New(map[string]any{"b": 1, "a": "x"}, ""), New(map[string]any{"kind": "K"}, "")})
	if err != nil {
		t.Fatal(err)
	}
	if want := "---\na: x\nb: 1\n---\nkind: K\n"; string(stream) != want {
		t.Errorf("Stream = %q, want %q", stream, want)
	}
	if _, err := Stream([]Object{{Key: Key{Kind: "K", Name: "bad"}, Object: map[string]any{"f": func() {}}}}); err == nil ||
		!strings.Contains(err.Error(), "K/bad") {
		t.Errorf("Stream of an unprintable object = %v, want an error naming it", err)
	}
}

func TestParseKeepsScalarTypes(t *testing.T) {
	in := lines(
		"apiVersion: apps/v1",
		"kind: Deployment",
		"metadata:",
		"  name: web",
		"  annotations:",
		`    version: "1.10"`,
		`    mode: "0644"`,
		`    count: "3"`,
		`    enabled: "true"`,
		`    released: 2024-01-01`,
		`    at: 2024-01-01T10:00:00+02:00`,
		"spec:",
		"  replicas: 3",
		"  ratio: 1.10",
		"  negative: -2",
		"  paused: false",
		"  nothing: null",
		"  octal: 0644",
		"  list: [1, \"1\", 1.5]",
	)
	objs, err := Parse([]byte(in), "web.yaml")
	if err != nil || len(objs) != 1 {
		t.Fatalf("Parse = %d objects, %v", len(objs), err)
	}
	obj := objs[0].Object
	spec := obj["spec"].(map[string]any)
	ann := obj["metadata"].(map[string]any)["annotations"].(map[string]any)
	tests := []struct {
		name string
		got  any
		want any
	}{
		// Numbers follow JSON semantics (float64), as whatever renders them.
		{"int replicas", spec["replicas"], float64(3)},
		{"float", spec["ratio"], 1.1},
		{"negative int", spec["negative"], float64(-2)},
		{"bool", spec["paused"], false},
		{"null", spec["nothing"], nil},
		{"YAML octal", spec["octal"], float64(420)},
		{"list", spec["list"], []any{float64(1), "1", 1.5}},
		// Quoted scalars stay strings.
		{"version string", ann["version"], "1.10"},
		{"octal-looking string", ann["mode"], "0644"},
		{"number string", ann["count"], "3"},
		{"bool string", ann["enabled"], "true"},
		// Timestamps stay the text Kubernetes reads, not a reformatted time.
		{"date", ann["released"], "2024-01-01"},
		{"time", ann["at"], "2024-01-01T10:00:00+02:00"},
	}
	for _, tc := range tests {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %T %#v, want %T %#v", tc.name, tc.got, tc.got, tc.want, tc.want)
		}
	}

	out, err := Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"  replicas: 3\n", // an int prints as an int, not 3.0 or "3"
		"  ratio: 1.1\n",
		"  negative: -2\n",
		"  octal: 420\n",
		"    version: \"1.10\"\n", // a string that looks like a number stays quoted
		"    mode: \"0644\"\n",
		"    count: \"3\"\n",
		"    enabled: \"true\"\n",
		"    released: \"2024-01-01\"\n",
		"  - 1\n  - \"1\"\n  - 1.5\n",
	} {
		if !bytes.Contains(out, []byte(line)) {
			t.Errorf("Marshal output lacks %q:\n%s", line, out)
		}
	}
	// Go ints given to Marshal print the same as parsed ones.
	if b, err := Marshal(map[string]any{"replicas": 3, "big": int64(1) << 40}); err != nil || string(b) != "big: 1099511627776\nreplicas: 3\n" {
		t.Errorf("Marshal of Go ints = %q, %v", b, err)
	}
}
