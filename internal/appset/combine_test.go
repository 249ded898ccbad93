package appset

import "testing"

func TestMatrixGenerator(t *testing.T) {
	runGenCases(t, []genCase{{
		name:     "every set of the first with every set of the second",
		tree:     dirTree,
		clusters: testClusterList,
		appset: appset(false, "- matrix:\n    generators:\n    - git:\n        repoURL: https://github.com/example/gitops.git\n        revision: HEAD\n        directories: [{path: 'apps/[ab]'}]\n    - clusters: {selector: {matchLabels: {env: prod}}}\n",
			basicTemplate("{{path.basename}}-{{nameNormalized}}", "{{path}}")),
		names: []string{"a-prod-eu", "a-prod-us", "b-prod-eu", "b-prod-us"},
	}, {
		name: "the second generator uses the first's parameters (fasttemplate)",
		appset: appset(false, "- matrix:\n    generators:\n    - list: {elements: [{env: dev}, {env: prod}]}\n    - list: {elements: [{app: 'web-{{env}}'}]}\n",
			basicTemplate("{{app}}", "{{env}}")),
		names: []string{"web-dev", "web-prod"},
	}, {
		name: "the second generator uses the first's parameters (go template, elementsYaml)",
		appset: appset(true, "- matrix:\n    generators:\n    - list: {elements: [{env: dev, apps: [a, b]}]}\n    - list: {elementsYaml: '[{{ range $i, $a := .apps }}{{ if $i }}, {{ end }}{app: {{ $a }}}{{ end }}]'}\n",
			basicTemplate("{{ .env }}-{{ .app }}", "x")),
		names: []string{"dev-a", "dev-b"},
	}, {
		name: "fasttemplate refuses a key both set differently",
		appset: appset(false, "- matrix:\n    generators:\n    - list: {elements: [{env: dev}]}\n    - list: {elements: [{env: prod}]}\n",
			basicTemplate("{{env}}", "x")),
		err: []string{"appsets/test.yaml:9:", "found duplicate key env with different value, a: dev ,b: prod"},
	}, {
		name: "go templates: the first generator's value wins, maps merge",
		appset: appset(true, "- matrix:\n    generators:\n    - list: {elements: [{env: dev, m: {a: first}}]}\n    - list: {elements: [{env: prod, m: {a: second, b: second}}]}\n",
			basicTemplate("{{ .env }}", "{{ .m.a }}-{{ .m.b }}")),
		names:  []string{"dev"},
		fields: map[string]map[string]string{"dev": {"spec.source.path": "first-second"}},
	}, {
		name: "a matrix inside a matrix",
		appset: appset(false, "- matrix:\n    generators:\n    - list: {elements: [{a: '1'}, {a: '2'}]}\n    - matrix:\n        generators:\n        - list: {elements: [{b: x}]}\n        - list: {elements: [{c: p}, {c: q}]}\n",
			basicTemplate("n-{{a}}-{{b}}-{{c}}", "x")),
		names: []string{"n-1-x-p", "n-1-x-q", "n-2-x-p", "n-2-x-q"},
	}, {
		name: "selectors of children apply",
		appset: appset(false, "- matrix:\n    generators:\n    - list: {elements: [{a: '1'}, {a: '2'}]}\n      selector: {matchLabels: {a: '2'}}\n    - list: {elements: [{b: x}]}\n",
			basicTemplate("n-{{a}}-{{b}}", "x")),
		names: []string{"n-2-x"},
	}, {
		name:   "three generators",
		appset: appset(false, "- matrix:\n    generators:\n    - list: {elements: [{a: '1'}]}\n    - list: {elements: [{b: '1'}]}\n    - list: {elements: [{c: '1'}]}\n", basicTemplate("x", "x")),
		err:    []string{"appsets/test.yaml:9:", "a matrix needs exactly two generators, found 3"},
	}})
}

func TestMergeGenerator(t *testing.T) {
	runGenCases(t, []genCase{{
		name:     "later generators override the base by merge key; sets without a base are dropped",
		clusters: testClusterList,
		appset: appset(false, "- merge:\n    mergeKeys: [server]\n    generators:\n    - clusters: {values: {kafka: 'true', redis: 'false'}}\n    - clusters: {selector: {matchLabels: {env: dev}}, values: {kafka: 'false'}}\n    - list: {elements: [{server: 'https://prod-us', values.redis: 'true'}, {server: 'https://nowhere', values.redis: 'true'}]}\n",
			basicTemplate("{{nameNormalized}}", "{{values.kafka}}-{{values.redis}}")),
		names: []string{"dev", "prod-eu", "prod-us"},
		fields: map[string]map[string]string{
			"dev":     {"spec.source.path": "false-false"},
			"prod-eu": {"spec.source.path": "true-false"},
			"prod-us": {"spec.source.path": "true-true"},
		},
	}, {
		name: "go templates merge maps; several merge keys",
		appset: appset(true, "- merge:\n    mergeKeys: [app, env]\n    generators:\n    - list: {elements: [{app: web, env: dev, cfg: {a: 1, b: 1}}, {app: web, env: prod, cfg: {a: 1, b: 1}}]}\n    - list: {elements: [{app: web, env: prod, cfg: {b: 2}}]}\n",
			basicTemplate("{{ .app }}-{{ .env }}", "{{ .cfg.a }}{{ .cfg.b }}")),
		names: []string{"web-dev", "web-prod"},
		fields: map[string]map[string]string{
			"web-dev":  {"spec.source.path": "11"},
			"web-prod": {"spec.source.path": "12"},
		},
	}, {
		name:   "base sets must be unique by the merge keys",
		appset: appset(false, "- merge:\n    mergeKeys: [app]\n    generators:\n    - list: {elements: [{app: web}, {app: web}]}\n    - list: {elements: [{app: web}]}\n", basicTemplate("{{app}}", "x")),
		err:    []string{"appsets/test.yaml:9:", "generators[0]", `not unique by the mergeKeys`, `{"app":"web"}`},
	}, {
		name:   "mergeKeys are required",
		appset: appset(false, "- merge:\n    generators:\n    - list: {elements: [{app: web}]}\n    - list: {elements: [{app: web}]}\n", basicTemplate("{{app}}", "x")),
		err:    []string{"mergeKeys is empty"},
	}})
}
