package appset

import "testing"

func TestTemplates(t *testing.T) {
	list := "- list:\n    elements:\n    - {env: Dev_One, team: a}\n"
	runGenCases(t, []genCase{{
		name:   "missingkey=error names the file and the template's line",
		appset: appset(true, list, basicTemplate("{{ .env }}", "{{ .nope }}")) + "  goTemplateOptions: [\"missingkey=error\"]\n",
		err:    []string{"appsets/test.yaml:19:", `map has no entry for key "nope"`},
	}, {
		name:   "by default a missing key prints <no value>",
		appset: appset(true, list, basicTemplate("x", "{{ .nope }}")),
		names:  []string{"x"},
		fields: map[string]map[string]string{"x": {"spec.source.path": "<no value>"}},
	}, {
		name:   "an unknown goTemplateOptions entry is an error, not a crash",
		appset: appset(true, list, basicTemplate("x", "x")) + "  goTemplateOptions: [\"missingkey=maybe\"]\n",
		err:    []string{"appsets/test.yaml:", `"missingkey=maybe" is not a Go template option`},
	}, {
		name:   "env and expandenv are removed, as in Argo CD",
		appset: appset(true, list, basicTemplate("x", "{{ env \"HOME\" }}")),
		err:    []string{"appsets/test.yaml:19:", `function "env" not defined`},
	}, {
		name:   "Argo CD's functions: normalize, slugify, toYaml, fromYaml",
		appset: appset(true, list, basicTemplate("{{ normalize .env }}", "{{ slugify 5 false \"Hello World Again\" }}|{{ (fromYaml (toYaml (dict \"k\" .team))).k }}")),
		names:  []string{"dev-one"},
		fields: map[string]map[string]string{"dev-one": {"spec.source.path": "hello|a"}},
	}, {
		name:   "mapping keys are rendered too",
		appset: appset(false, list, "metadata:\n  name: x\n  labels:\n    'team-{{team}}': '{{env}}'\nspec: {project: default}\n"),
		names:  []string{"x"},
		fields: map[string]map[string]string{"x": {"metadata.labels.team-a": "Dev_One"}},
	}, {
		name:   "numbers and booleans of the template keep their types",
		appset: appset(false, list, "metadata: {name: x}\nspec:\n  revisionHistoryLimit: 3\n  syncPolicy: {automated: {prune: true}}\n"),
		names:  []string{"x"},
		fields: map[string]map[string]string{"x": {"spec.revisionHistoryLimit": "3", "spec.syncPolicy.automated.prune": "true"}},
	}, {
		name:   "an unterminated fasttemplate tag is left as it is",
		appset: appset(false, list, basicTemplate("x", "a-{{env")),
		names:  []string{"x"},
		fields: map[string]map[string]string{"x": {"spec.source.path": "a-{{env"}},
	}})
}

func TestDuplicateNames(t *testing.T) {
	runGenCases(t, []genCase{{
		name:   "within one generator",
		appset: appset(false, "- list:\n    elements:\n    - {env: dev, idx: '1'}\n    - {env: dev, idx: '2'}\n", basicTemplate("app-{{env}}", "{{idx}}")),
		err: []string{"appsets/test.yaml:1:", `two Applications named "app-dev"`,
			`spec.generators[0] {"env":"dev","idx":"1"}`, `spec.generators[0] {"env":"dev","idx":"2"}`, "refuses the whole ApplicationSet"},
	}, {
		name:   "across generators",
		appset: appset(false, "- list: {elements: [{env: dev}]}\n- list: {elements: [{env: dev}]}\n", basicTemplate("app-{{env}}", "x")),
		err:    []string{`two Applications named "app-dev"`, `spec.generators[0] {"env":"dev"}`, `spec.generators[1] {"env":"dev"}`},
	}})
}

func TestTemplatePatch(t *testing.T) {
	gens := "- list:\n    elements:\n    - {env: dev, auto: true, files: [a.yaml, b.yaml]}\n    - {env: prod, auto: false, files: []}\n"
	tpl := "metadata: {name: '{{ .env }}', labels: {keep: me, drop: me}}\nspec:\n  project: default\n  source: {repoURL: r, path: p, helm: {valueFiles: [base.yaml]}}\n"
	runGenCases(t, []genCase{{
		name:   "rendered whole, merged as a JSON merge patch: lists replaced, null removes",
		appset: appset(true, gens, tpl) + "  templatePatch: |\n    metadata:\n      labels: {drop: null, added: '{{ .env }}'}\n    spec:\n      source:\n        helm:\n          valueFiles:\n          {{- range .files }}\n          - {{ . }}\n          {{- end }}\n    {{- if .auto }}\n      syncPolicy: {automated: {prune: true}}\n    {{- end }}\n",
		names:  []string{"dev", "prod"},
		fields: map[string]map[string]string{
			"dev": {"metadata.labels.keep": "me", "metadata.labels.drop": "", "metadata.labels.added": "dev",
				"spec.source.helm.valueFiles.0": "a.yaml", "spec.source.helm.valueFiles.1": "b.yaml", "spec.syncPolicy.automated.prune": "true"},
			"prod": {"spec.source.helm.valueFiles.0": "", "spec.source.path": "p", "spec.syncPolicy.automated.prune": ""},
		},
	}, {
		name:   "needs goTemplate",
		appset: appset(false, gens, tpl) + "  templatePatch: 'spec: {}'\n",
		err:    []string{"appsets/test.yaml:", "templatePatch needs goTemplate: true"},
	}, {
		name:   "a patch that is not YAML names the templatePatch line",
		appset: appset(true, gens, tpl) + "  templatePatch: |\n    spec: [\n",
		err:    []string{"appsets/test.yaml:18:", "templatePatch", "not YAML"},
	}})
}
