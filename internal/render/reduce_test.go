package render

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// pw is the password planted in every broken file below.
const pw = "hunter2-Sup3rS3cret"

// TestReduceMessage: messages Kustomize, Helm and the YAML libraries really
// produced for files holding pw (collected from renders of such files),
// reduced to their class and location.
func TestReduceMessage(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"kyaml node dump",
			"wrong node kind: expected MappingNode but got ScalarNode: node contents:\n" + pw + "\n",
			"wrong node kind: expected MappingNode but got ScalarNode: node contents: …"},
		{"kustomize object dump",
			"accumulating resources: accumulation err='accumulating resources from 'cm.yaml': missing metadata.name in object {{v1 ConfigMap} {{ } map[password:" + pw + "] map[]}}': must build at directory: 'ov/cm.yaml': file is not directory",
			"accumulating resources: accumulation err='accumulating resources from 'cm.yaml': missing metadata.name in object {…}': must build at directory: 'ov/cm.yaml': file is not directory"},
		{"Go map dump",
			"map[string]interface {}{\"data\":map[string]interface {}{\"password\":\"" + pw + "\"}}: invalid",
			"map[…]interface {}{…}: invalid"},
		{"generator literal, unquoted",
			"loading KV pairs: literal sources [password" + pw + "]: invalid literal source password" + pw + ", expected key=value",
			"loading KV pairs: literal sources […]: invalid literal source …, expected key=value"},
		{"env file line as bytes and text",
			"loading KV pairs: env source files: [s.env]: line [112 97 115 115] has invalid utf8 bytes : password=" + pw,
			"loading KV pairs: env source files: […]: line […] has invalid utf8 bytes …"},
		{"yaml.v3 value in backticks",
			"yaml: unmarshal errors:\n  line 6: cannot unmarshal !!str `" + pw + "` into int",
			"yaml: unmarshal errors:\n  line 6: cannot unmarshal !!str `…` into int"},
		{"yaml.v3 duplicate key: a key can be a value too",
			"yaml: unmarshal errors:\n  line 7: mapping key \"" + pw + "\" already defined at line 6",
			"yaml: unmarshal errors:\n  line 7: mapping key \"…\" already defined at line 6"},
		{"Helm include of a value",
			"template: ch/templates/cm.yaml:1:3: executing \"ch/templates/cm.yaml\" at <include .Values.password .>: error calling include: template: no template \"" + pw + "\" associated with template \"gotpl\"",
			"template: ch/templates/cm.yaml:1:3: executing \"ch/templates/cm.yaml\" at <include .Values.password .>: error calling include: template: no template \"…\" associated with template \"…\""},
		{"Helm tpl of a value, a literal in the action",
			"template: ch/templates/cm.yaml:1:3: executing \"ch/templates/cm.yaml\" at <tpl (printf \"{{ %s\" .Values.password) .>: error calling tpl: cannot parse template \"{{ " + pw + "\": template: gotpl:1: bad character U+002D '-'",
			"template: ch/templates/cm.yaml:1:3: executing \"ch/templates/cm.yaml\" at <tpl (printf \"…\" .Values.password) .>: error calling tpl: cannot parse template \"…\": template: gotpl:1: bad character U+002D '-'"},
		{"Helm unclosed quote runs to the end",
			"parse error at (ch/templates/cm.yaml:3): unterminated quoted string \"" + pw,
			"parse error at (ch/templates/cm.yaml:3): unterminated quoted string \"…"},
		{"Helm schema errors keep their items",
			"values don't meet the specifications of the schema(s) in the following chart(s):\nch:\n- at '/password': got string, want integer",
			"values don't meet the specifications of the schema(s) in the following chart(s):\nch:\n- at '…': got string, want integer"},
		{"undefined function and apostrophes",
			"parse error at (ch/templates/cm.yaml:1): function \"nope\" not defined; can't evaluate field foo in type interface {}",
			"parse error at (ch/templates/cm.yaml:1): function \"nope\" not defined; can't evaluate field foo in type interface {}"},
		{"a dump on the following lines is dropped",
			"roleRef cannot be found in apiVersion: v1\nkind: ConfigMap\ndata:\n  password: " + pw,
			"roleRef cannot be found in apiVersion: v1\n…"},
		{"kustomize ids and regexes stay",
			"may not add resource with an already registered id: ConfigMap.v1.[noGrp]/y.[noNs]; must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
			"may not add resource with an already registered id: ConfigMap.v1.[noGrp]/y.[noNs]; must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
		{"a quoted value that is not a name",
			"invalid value \"" + pw + "\" for 'x y'",
			"invalid value \"…\" for 'x y'"},
		{"an unknown field that is not a name", `unknown field "spec.` + pw + `"`, `unknown field "…"`},
		{"an unknown field (a typo)", `json: unknown field "namePrefx"`, `json: unknown field "namePrefx"`},
		{"a Go value dump with quotes inside", `error converting map[string]interface {}{"password":"` + pw + `"} to object`, "error converting map[…]interface {}{…} to object"},
		{"an escaped quote", `value "a\"` + pw + `" refused`, `value "…" refused`},
		{"a quoted file reference stays", `accumulating resources from 'base/cm.yaml': bad`, `accumulating resources from 'base/cm.yaml': bad`},
		{"a password shaped like a name, quoted after a plain word",
			"no matches for \"" + pw + "\"",
			"no matches for \"…\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := reduceMessage(tt.in)
			if got != tt.want {
				t.Errorf("reduceMessage()\n got %q\nwant %q", got, tt.want)
			}
			if strings.Contains(got, pw) {
				t.Errorf("the password survived: %q", got)
			}
		})
	}
}

// TestRenderErrorsQuoteNoContents renders broken sources that hold a
// password: no error leaving Render holds it, and file and line survive.
func TestRenderErrorsQuoteNoContents(t *testing.T) {
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n"
	tests := []struct {
		name     string
		typ      environment.SourceType
		files    map[string]string
		file     string
		line     int
		contains string // the class of error, kept
	}{
		{"kustomize: a patch that is a scalar", environment.Kustomize, map[string]string{
			"ov/kustomization.yaml": "resources: [cm.yaml]\npatchesStrategicMerge:\n- p.yaml\n",
			"ov/p.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata: " + pw + "\n",
			"ov/cm.yaml":            cm + "data:\n  a: b\n",
		}, "ov/kustomization.yaml", 0, "wrong node kind"},
		{"kustomize: a generator literal", environment.Kustomize, map[string]string{
			"ov/kustomization.yaml": "resources: [cm.yaml]\nconfigMapGenerator:\n- name: x\n  literals: [\"password" + pw + "\"]\n",
			"ov/cm.yaml":            cm,
		}, "ov/kustomization.yaml", 0, "invalid literal source"},
		{"kustomize: an env file that is not UTF-8", environment.Kustomize, map[string]string{
			"ov/kustomization.yaml": "resources: [cm.yaml]\nconfigMapGenerator:\n- name: x\n  envs: [s.env]\n",
			"ov/s.env":              "password=" + pw + "\xff\n",
			"ov/cm.yaml":            cm,
		}, "ov/kustomization.yaml", 0, "invalid utf8"},
		{"kustomize: broken YAML next to a password", environment.Kustomize, map[string]string{
			"ov/kustomization.yaml": "resources: [cm.yaml]\n",
			"ov/cm.yaml":            cm + "data:\n  password: " + pw + "\n  bad: [unclosed\n",
		}, "ov/cm.yaml", 6, "did not find expected"},
		{"kustomize: an object without a name", environment.Kustomize, map[string]string{
			"ov/kustomization.yaml": "resources: [cm.yaml]\n",
			"ov/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\ndata:\n  password: " + pw + "\n",
		}, "ov/cm.yaml", 0, "missing metadata.name"},
		{"helm: include of a value", environment.Helm, map[string]string{
			"ch/Chart.yaml":        "apiVersion: v2\nname: ch\nversion: 0.1.0\n",
			"ch/values.yaml":       "password: " + pw + "\n",
			"ch/templates/cm.yaml": "{{ include .Values.password . }}\n",
		}, "ch/templates/cm.yaml", 1, "error calling include"},
		{"helm: a value that is not a number", environment.Helm, map[string]string{
			"ch/Chart.yaml":         "apiVersion: v2\nname: ch\nversion: 0.1.0\n",
			"ch/values.yaml":        "password: " + pw + "\n",
			"ch/values.schema.json": `{"type":"object","properties":{"password":{"type":"integer"}}}`,
			"ch/templates/cm.yaml":  "x: y\n",
		}, "ch/Chart.yaml", 0, "got string, want integer"},
		{"plain YAML: a value that is not an int", environment.Directory, map[string]string{
			"d/cm.yaml": cm + "data:\n  a: !!int " + pw + "\n",
		}, "d/cm.yaml", 6, "cannot decode"},
		{"plain YAML: a password as a duplicate key", environment.Directory, map[string]string{
			"d/cm.yaml": cm + "data:\n  " + pw + ": a\n  " + pw + ": b\n",
		}, "d/cm.yaml", 7, "already defined at line 6"},
		{"kustomize: a patch with a map where a scalar belongs", environment.Kustomize, map[string]string{
			"ov/kustomization.yaml": "resources: [deploy.yaml]\npatches:\n- path: patch.yaml\n",
			"ov/deploy.yaml":        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n",
			"ov/patch.yaml":         "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {password: " + pw + "}\n",
		}, "ov/kustomization.yaml", 0, "expected ScalarNode but got MappingNode"},
		{"kustomize: an unclosed quote before a password", environment.Kustomize, map[string]string{
			"ov/kustomization.yaml": "resources: [bad.yaml]\n",
			"ov/bad.yaml":           cm + "data:\n  a: \"" + pw + "\n  b: [\n",
		}, "ov/bad.yaml", 6, "found unexpected end of stream"},
		{"kustomize: a JSON patch test of a password", environment.Kustomize, map[string]string{
			"ov/kustomization.yaml": "resources: [cm.yaml]\npatches:\n- patch: |-\n    - op: test\n      path: /data/password\n      value: wrong\n  target:\n    kind: ConfigMap\n",
			"ov/cm.yaml":            cm + "data:\n  password: " + pw + "\n",
		}, "ov/kustomization.yaml", 0, "test failed"},
		{"helm: tpl of a value that is no template", environment.Helm, map[string]string{
			"ch/Chart.yaml":        "apiVersion: v2\nname: ch\nversion: 0.1.0\n",
			"ch/values.yaml":       "password: \"{{ " + pw + " }}\"\n",
			"ch/templates/cm.yaml": cm + "data:\n  p: {{ tpl .Values.password . }}\n",
		}, "ch/templates/cm.yaml", 6, "error calling tpl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := map[environment.SourceType]string{environment.Kustomize: "ov", environment.Helm: "ch", environment.Directory: "d"}[tt.typ]
			_, err := Render(context.Background(), testrepo.Tree(t, tt.files), environment.Environment{Name: "e", Type: tt.typ, Path: path}, Options{})
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("Render() error %v, want an *Error", err)
			}
			if strings.Contains(err.Error(), pw) || strings.Contains(re.Err.Error(), pw) {
				t.Errorf("the error quotes the password: %v", err)
			}
			if re.File != tt.file || re.Line != tt.line || !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q at %s:%d, want %q at %s:%d", err, re.File, re.Line, tt.contains, tt.file, tt.line)
			}
		})
	}
}

// TestReduceErrorKeepsOwnMessagesAndCauses: ferry's own messages leave as
// written, and a reduced error still unwraps to its cause.
func TestReduceErrorKeepsOwnMessagesAndCauses(t *testing.T) {
	own := errorf("apps/x.yaml", 3, "dependency %q is not vendored in charts/", "db")
	if got := reduceError(own).Error(); got != `apps/x.yaml:3: dependency "db" is not vendored in charts/` {
		t.Errorf("own message changed: %q", got)
	}
	third := &Error{File: "a.yaml", Err: errors.Join(repofs.ErrOutsideRoot, errors.New("value `"+pw+"`"))}
	got := reduceError(third)
	if strings.Contains(got.Error(), pw) || !errors.Is(got, repofs.ErrOutsideRoot) {
		t.Errorf("reduceError() = %v: quotes the value or lost its cause", got)
	}
}
