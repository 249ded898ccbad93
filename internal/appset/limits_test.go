package appset

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestLimits feeds hostile ApplicationSets: each must fail with a limit
// error, quickly, instead of spinning or eating the server's memory.
func TestLimits(t *testing.T) {
	small := defaultLimits
	small.Applications, small.ParamSets, small.FileSize = 3, 50, 10
	tight := defaultLimits
	tight.TotalNodes, tight.FileBytes = 40, 30
	list := "- list:\n    elements:\n    - {env: dev}\n"
	bomb := "metadata:\n  name: x\n  labels:\n    a: &a [x, x, x, x, x, x, x, x, x, x]\n    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n    f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\nspec: {project: default}\n"
	cases := []struct {
		name   string
		lim    limits
		tree   memTree
		appset string
		want   string
	}{
		{"too many Applications", small, nil,
			appset(false, "- list: {elements: [{e: a}, {e: b}, {e: c}, {e: d}]}\n", basicTemplate("{{e}}", "x")), "more than 3 Applications"},
		{"a matrix too large", small, nil,
			appset(false, "- matrix:\n    generators:\n    - list: {elements: [{a: '1'}, {a: '2'}, {a: '3'}, {a: '4'}, {a: '5'}, {a: '6'}, {a: '7'}, {a: '8'}]}\n    - list: {elements: [{b: '1'}, {b: '2'}, {b: '3'}, {b: '4'}, {b: '5'}, {b: '6'}, {b: '7'}, {b: '8'}]}\n", basicTemplate("{{a}}{{b}}", "x")),
			"more than 50 parameter sets"},
		{"a file too large", small, memTree{"c/config.json": `{"name": "way too long"}`},
			appset(false, "- git: {repoURL: r, revision: HEAD, files: [{path: 'c/*.json'}]}\n", basicTemplate("{{name}}", "x")), "c/config.json"},
		{"too many YAML nodes in all", tight, nil,
			appset(false, "- list: {elements: [{e: a}, {e: b}, {e: c}, {e: d}]}\n", basicTemplate("{{e}}", "x")), "more than 40 YAML nodes in all"},
		{"too many bytes read by the files generator", tight, memTree{"c/a.json": `{"name": "aaaaaaaaaaaa"}`, "c/b.json": `{"name": "bbbbbbbbbbbb"}`},
			appset(false, "- git: {repoURL: r, revision: HEAD, files: [{path: 'c/*.json'}]}\n", basicTemplate("{{name}}", "x")), "read more than 30 bytes"},
		{"nested loops", defaultLimits, nil,
			appset(true, list, basicTemplate("x", "{{ range until 10000 }}{{ range until 10000 }}{{ end }}{{ end }}")), "steps"},
		{"a loop over a huge integer", defaultLimits, nil,
			appset(true, list, basicTemplate("x", "{{ range 1000000000000 }}{{ end }}")), "steps"},
		{"deep recursion", defaultLimits, nil,
			appset(true, list, basicTemplate("x", `{{ define "r" }}{{ template "r" . }}{{ template "r" . }}{{ end }}{{ template "r" . }}`)), "nest deeper than 100"},
		{"exponential recursion within the depth limit", defaultLimits, nil,
			appset(true, list, basicTemplate("x", `{{ define "r" }}{{ if . }}{{ template "r" (slice . 1) }}{{ template "r" (slice . 1) }}{{ end }}{{ end }}{{ template "r" (until 60) }}`)), "steps"},
		{"a huge repeat", defaultLimits, nil,
			appset(true, list, basicTemplate("x", `{{ repeat 1000000000 "xxxxxxxx" }}`)), "would make"},
		{"a string doubled until it is huge", defaultLimits, nil,
			appset(true, list, basicTemplate("x", `{{ $s := "xxxxxxxx" }}{{ range until 100 }}{{ $s = print $s $s }}{{ end }}{{ len $s }}`)), "template value is over"},
		{"output past the string limit", defaultLimits, nil,
			appset(true, list, basicTemplate("x", "{{ range until 100000 }}xxxxxxxxxx{{ end }}")), "rendered string is over"},
		{"a huge printf width", defaultLimits, nil,
			appset(true, list, basicTemplate("x", `{{ printf "%999999999d" 1 }}`)), "printf widths"},
		{"a map that contains itself", defaultLimits, nil,
			appset(true, list, basicTemplate("x", `{{ $d := dict }}{{ $_ := set $d "a" $d }}{{ toJson $d }}`)), "nests deeper"},
		{"an alias bomb in the template", defaultLimits, nil,
			appset(false, list, bomb), "YAML nodes"},
		{"uniq of a long list", defaultLimits, nil,
			appset(true, list, basicTemplate("x", `{{ len (uniq (until 100000)) }}`)), "uniq takes lists"},
		{"huge until", defaultLimits, nil,
			appset(true, list, basicTemplate("x", `{{ len (until 1000000000) }}`)), "would make"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := expandText(t, tc.tree, tc.appset, Options{}, tc.lim)
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("took %s", took)
			}
			if err == nil || !isLimit(err) && !strings.Contains(err.Error(), "over ferry's limit") {
				t.Fatalf("error %v, want a limit error", err)
			}
			wantErr(t, err, "appsets/test.yaml:", tc.want)
		})
	}
}

// TestLimitsLeaveRealTemplatesAlone: a thousand Applications from a
// template with loops, functions and a templatePatch fit the limits.
func TestLimitsLeaveRealTemplatesAlone(t *testing.T) {
	var b strings.Builder
	b.WriteString("- list:\n    elements:\n")
	for i := 0; i < defaultLimits.Applications; i++ {
		fmt.Fprintf(&b, "    - {idx: %d, name: App_%d, tags: [a, b, c], cfg: {team: t%d, tier: web}}\n", i, i, i%7)
	}
	tpl := "metadata:\n  name: '{{ normalize .name }}-{{ .idx }}'\n  labels: {team: '{{ .cfg.team | upper }}', tags: '{{ join \"-\" .tags }}'}\n" +
		"spec:\n  project: default\n  source: {repoURL: r, path: 'apps/{{ range $i, $t := .tags }}{{ if $i }}_{{ end }}{{ $t }}{{ end }}'}\n  destination: {server: 'https://{{ .cfg.tier }}', namespace: '{{ printf \"%s-%v\" .cfg.team .idx }}'}\n"
	text := appset(true, b.String(), tpl) + "  templatePatch: |\n    metadata: {annotations: {toml: '{{ toJson .cfg }}'}}\n"
	start := time.Now()
	exp, err := expandText(t, nil, text, Options{}, defaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Applications) != defaultLimits.Applications {
		t.Fatalf("%d Applications", len(exp.Applications))
	}
	s := summary(t, exp.Applications[999])
	if s["metadata.name"] != "app-999-999" || s["spec.source.path"] != "apps/a_b_c" || s["metadata.labels.team"] != "T5" || s["metadata.annotations.toml"] != `{"team":"t5","tier":"web"}` {
		t.Errorf("last Application: %v", s)
	}
	t.Logf("1000 Applications in %s", time.Since(start))
}

// TestAliasBombInElements: YAML aliases in generator data are expanded by
// a reader that refuses excessive aliasing.
func TestAliasBombInElements(t *testing.T) {
	gens := "- list:\n    elements:\n    - a: &a [x, x, x, x, x, x, x, x, x, x]\n      b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n      c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n      d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n      e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n      f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n      g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
	start := time.Now()
	_, err := expandText(t, nil, appset(true, gens, basicTemplate("x", "x")), Options{}, defaultLimits)
	wantErr(t, err, "appsets/test.yaml:11:", "elements[0]", "excessive aliasing")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s", took)
	}
}
