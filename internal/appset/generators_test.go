package appset

import (
	"strings"
	"testing"
)

// genCase is one generator test: an ApplicationSet, the tree and clusters
// it sees, and the Applications (names, then chosen fields) it must
// generate, or the error or skip it must report.
type genCase struct {
	name     string
	tree     memTree
	clusters []Cluster
	repoURL  string
	appset   string
	names    []string
	fields   map[string]map[string]string
	err      []string
	skipped  []string
}

func runGenCases(t *testing.T, cases []genCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			exp, err := expandText(t, tc.tree, tc.appset, Options{RepoURL: tc.repoURL, Clusters: tc.clusters, SameRepo: sameRepo}, defaultLimits)
			if len(tc.err) > 0 {
				wantErr(t, err, tc.err...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			check(t, exp, tc.names, tc.fields)
			if len(exp.Skipped) != len(tc.skipped) {
				t.Fatalf("skipped %q, want %d mentioning %q", exp.Skipped, len(tc.skipped), tc.skipped)
			}
			for i, s := range tc.skipped {
				if !strings.Contains(exp.Skipped[i], s) {
					t.Errorf("skipped[%d] = %q, want it to mention %q", i, exp.Skipped[i], s)
				}
			}
		})
	}
}

func TestListGenerator(t *testing.T) {
	runGenCases(t, []genCase{{
		name: "fasttemplate strings and values, unknown tags kept",
		appset: appset(false, "- list:\n    elements:\n    - {env: dev, values: {rev: main}}\n    - {env: prod}\n",
			basicTemplate("app-{{env}}", "envs/{{ env }}/{{values.rev}}")),
		names: []string{"app-dev", "app-prod"},
		fields: map[string]map[string]string{
			"app-dev":  {"spec.source.path": "envs/dev/main"},
			"app-prod": {"spec.source.path": "envs/prod/{{values.rev}}"},
		},
	}, {
		name:   "fasttemplate refuses a number, as Argo CD does",
		appset: appset(false, "- list:\n    elements:\n    - {env: dev, replicas: 3}\n", basicTemplate("app-{{env}}", "x")),
		err:    []string{"appsets/test.yaml:", "elements[0]", "replicas is not a string"},
	}, {
		name: "go template keeps JSON types and nesting",
		appset: appset(true, "- list:\n    elements:\n    - {env: dev, replicas: 3, enabled: true, nested: {a: {b: deep}}}\n",
			basicTemplate("app-{{ .env }}-{{ .replicas }}", "{{ .nested.a.b }}/{{ if .enabled }}on{{ end }}/{{ add .replicas 1 }}")),
		names:  []string{"app-dev-3"},
		fields: map[string]map[string]string{"app-dev-3": {"spec.source.path": "deep/on/4"}},
	}, {
		name: "elementsYaml adds elements after elements",
		appset: appset(true, "- list:\n    elements:\n    - {env: a}\n    elementsYaml: |\n      - env: b\n      - env: c\n",
			basicTemplate("app-{{ .env }}", "x")),
		names: []string{"app-a", "app-b", "app-c"},
	}, {
		name: "the generator's own template overrides the spec's, which fills the rest",
		appset: appset(false, "- list:\n    elements:\n    - {env: dev}\n    template:\n      metadata:\n        name: 'own-{{env}}'\n      spec:\n        project: '{{env}}'\n",
			basicTemplate("base-{{env}}", "base/{{env}}")),
		names:  []string{"own-dev"},
		fields: map[string]map[string]string{"own-dev": {"spec.project": "dev", "spec.source.path": "base/dev", "spec.destination.namespace": "default"}},
	}, {
		name: "a post selector filters parameter sets",
		appset: appset(false, "- list:\n    elements:\n    - {env: dev, tier: web}\n    - {env: prod, tier: db}\n  selector:\n    matchExpressions:\n    - {key: tier, operator: NotIn, values: [db]}\n",
			basicTemplate("app-{{env}}", "x")),
		names: []string{"app-dev"},
	}, {
		name: "a template without parameters is left as it is",
		appset: appset(true, "- list:\n    elements:\n    - {}\n",
			basicTemplate("fixed", "{{ .nope }}")),
		names:  []string{"fixed"},
		fields: map[string]map[string]string{"fixed": {"spec.source.path": "{{ .nope }}"}},
	}})
}

var dirTree = memTree{
	"apps/a/kustomization.yaml":        "",
	"apps/b/kustomization.yaml":        "",
	"apps/b/nested/kustomization.yaml": "",
	"apps/skip/kustomization.yaml":     "",
	"apps/.hidden/kustomization.yaml":  "",
	".github/workflows/ci.yaml":        "",
	"README.md":                        "",
}

func TestGitDirectoriesGenerator(t *testing.T) {
	git := func(dirs string) string {
		return "- git:\n    repoURL: https://github.com/example/gitops.git\n    revision: HEAD\n    directories:\n" + indent(dirs, "    ")
	}
	runGenCases(t, []genCase{{
		name:    "* stops at /, hidden directories are never listed, an exclude wins even listed first",
		tree:    dirTree,
		repoURL: testRepoURL,
		appset:  appset(false, git("- {path: apps/skip, exclude: true}\n- path: apps/*\n- path: apps/skip\n"), basicTemplate("{{path.basename}}", "{{path}}")),
		names:   []string{"a", "b"},
		fields: map[string]map[string]string{"b": {
			"spec.source.path": "apps/b",
		}},
	}, {
		name:   "path segments, normalized basename and a path prefix",
		tree:   memTree{"apps/My_App/x.yaml": ""},
		appset: appset(false, git("- path: 'apps/*'\n")+"    pathParamPrefix: src\n", basicTemplate("{{src.path.basenameNormalized}}", "{{src.path[0]}}|{{src.path[1]}}|{{src.path}}")),
		names:  []string{"my-app"},
		fields: map[string]map[string]string{"my-app": {"spec.source.path": "apps|My_App|apps/My_App"}},
	}, {
		name:   "go template path parameters",
		tree:   dirTree,
		appset: appset(true, git("- path: apps/b/*\n"), basicTemplate("{{ .path.basename }}", "{{ .path.path }}|{{ index .path.segments 1 }}|{{ len .path.segments }}")),
		names:  []string{"nested"},
		fields: map[string]map[string]string{"nested": {"spec.source.path": "apps/b/nested|b|3"}},
	}, {
		name:   "go template path parameters under a prefix, values",
		tree:   dirTree,
		appset: appset(true, git("- path: apps/a\n")+"    pathParamPrefix: src\n    values: {dir: '{{ .src.path.path }}'}\n", basicTemplate("{{ .src.path.basename }}", "{{ .values.dir }}")),
		names:  []string{"a"},
		fields: map[string]map[string]string{"a": {"spec.source.path": "apps/a"}},
	}, {
		name:   "a malformed pattern matches nothing",
		tree:   dirTree,
		appset: appset(false, git("- path: 'apps/['\n- path: apps/a\n"), basicTemplate("{{path.basename}}", "{{path}}")),
		names:  []string{"a"},
	}, {
		name:    "another repository is skipped",
		tree:    dirTree,
		repoURL: testRepoURL,
		appset:  appset(false, "- git:\n    repoURL: https://github.com/other/repo.git\n    revision: HEAD\n    directories: [{path: '*'}]\n", basicTemplate("{{path.basename}}", "{{path}}")),
		skipped: []string{"line 8: spec.generators[0].git: the git generator reads https://github.com/other/repo.git, another repository"},
	}, {
		name:   "neither directories nor files",
		appset: appset(false, "- git:\n    repoURL: https://github.com/example/gitops.git\n    revision: HEAD\n", basicTemplate("x", "x")),
		err:    []string{"appsets/test.yaml:8:", "neither directories nor files"},
	}})
}

var fileTree = memTree{
	"clusters/dev/config.json":   `{"cluster": {"name": "dev", "size": 3, "tags": ["a", "b"]}, "big": 12345678, "none": null}`,
	"clusters/prod/config.yaml":  "cluster:\n  name: prod\n  size: 5\n",
	"clusters/list.yaml":         "- {cluster: {name: l1}}\n- {cluster: {name: l2}}\n",
	"clusters/empty/config.json": "",
	"clusters/bad/broken.json":   "{not: [valid",
	"other/config.json":          `{"cluster": {"name": "other"}}`,
}

func TestGitFilesGenerator(t *testing.T) {
	git := func(files string) string {
		return "- git:\n    repoURL: https://github.com/example/gitops.git\n    revision: HEAD\n    files:\n" + indent(files, "    ")
	}
	runGenCases(t, []genCase{{
		name:   "* crosses / as in git ls-files; keys flattened; numbers and nulls printed as Argo CD prints them",
		tree:   fileTree,
		appset: appset(false, git("- path: clusters/*/config.json\n"), basicTemplate("{{cluster.name}}-{{path.basename}}", "{{cluster.size}}|{{cluster.tags.1}}|{{big}}|{{none}}|{{path.filename}}|{{path[1]}}")),
		names:  []string{"dev-dev", "{{cluster.name}}-empty"},
		fields: map[string]map[string]string{"dev-dev": {"spec.source.path": "3|b|1.2345678e+07|<nil>|config.json|dev"}},
	}, {
		name:   "a list file yields one set per element, excluded files are dropped",
		tree:   fileTree,
		appset: appset(false, git("- path: 'clusters/**'\n- {path: clusters/*/config.*, exclude: true}\n- {path: clusters/bad, exclude: true}\n"), basicTemplate("{{cluster.name}}", "{{path}}")),
		names:  []string{"l1", "l2"},
		fields: map[string]map[string]string{"l1": {"spec.source.path": "clusters"}},
	}, {
		name:   "go template keeps nesting and types",
		tree:   fileTree,
		appset: appset(true, git("- path: 'clusters/prod/config.yaml'\n")+"    values:\n      ns: '{{ .cluster.name }}-ns'\n", basicTemplate("{{ .cluster.name }}", "{{ add .cluster.size 1 }}|{{ .path.filenameNormalized }}|{{ .values.ns }}")),
		names:  []string{"prod"},
		fields: map[string]map[string]string{"prod": {"spec.source.path": "6|config.yaml|prod-ns"}},
	}, {
		name:   "an unreadable file fails the whole ApplicationSet, naming the file",
		tree:   fileTree,
		appset: appset(false, git("- path: clusters/bad/broken.json\n"), basicTemplate("x", "x")),
		err:    []string{"appsets/test.yaml:8:", "clusters/bad/broken.json", "unable to parse file"},
	}})
}

var testClusterList = []Cluster{
	{Name: "dev", Server: "https://dev", Labels: map[string]string{"env": "dev", "region": "eu"}},
	{Name: "Prod_EU", Server: "https://prod-eu", Labels: map[string]string{"env": "prod", "region": "eu"}, Annotations: map[string]string{"owner": "ops"}},
	{Name: "prod-us", Server: "https://prod-us", Labels: map[string]string{"env": "prod"}},
}

func TestClustersGenerator(t *testing.T) {
	runGenCases(t, []genCase{{
		name:     "no selector selects every cluster",
		clusters: testClusterList,
		appset:   appset(false, "- clusters: {}\n", basicTemplate("{{nameNormalized}}", "{{server}}|{{name}}|{{metadata.labels.env}}")),
		names:    []string{"dev", "prod-eu", "prod-us"},
		fields:   map[string]map[string]string{"prod-eu": {"spec.source.path": "https://prod-eu|Prod_EU|prod"}},
	}, {
		name:     "matchLabels and matchExpressions, values rendered with the parameters",
		clusters: testClusterList,
		appset: appset(false, "- clusters:\n    selector:\n      matchLabels: {env: prod}\n      matchExpressions:\n      - {key: region, operator: DoesNotExist}\n    values:\n      ns: '{{name}}-apps'\n",
			basicTemplate("{{name}}", "{{values.ns}}")),
		names:  []string{"prod-us"},
		fields: map[string]map[string]string{"prod-us": {"spec.source.path": "prod-us-apps"}},
	}, {
		name:     "go template metadata",
		clusters: testClusterList,
		appset: appset(true, "- clusters:\n    selector:\n      matchExpressions:\n      - {key: region, operator: In, values: [eu]}\n      - {key: env, operator: Exists}\n",
			basicTemplate("{{ .nameNormalized }}", "{{ .metadata.labels.region }}|{{ .metadata.annotations.owner | default \"none\" }}")),
		names:  []string{"dev", "prod-eu"},
		fields: map[string]map[string]string{"prod-eu": {"spec.source.path": "eu|ops"}},
	}, {
		name:     "every cluster carries its secret's type label, as Argo CD's selectors see it",
		clusters: testClusterList,
		appset:   appset(false, "- clusters:\n    selector:\n      matchLabels: {argocd.argoproj.io/secret-type: cluster, region: eu}\n", basicTemplate("{{nameNormalized}}", "{{metadata.labels.argocd.argoproj.io/secret-type}}")),
		names:    []string{"dev", "prod-eu"},
		fields:   map[string]map[string]string{"dev": {"spec.source.path": "cluster"}},
	}, {
		name:     "an unknown operator is an error",
		clusters: testClusterList,
		appset:   appset(false, "- clusters:\n    selector:\n      matchExpressions:\n      - {key: env, operator: Near}\n", basicTemplate("{{name}}", "x")),
		err:      []string{"appsets/test.yaml:8:", `"Near" is not an operator`},
	}})
}

func TestUnsupportedGeneratorsAreSkipped(t *testing.T) {
	var cases []genCase
	for _, kind := range []string{"scmProvider", "pullRequest", "plugin", "clusterDecisionResource"} {
		cases = append(cases, genCase{
			name:    kind,
			appset:  appset(false, "- "+kind+":\n    whatever: {}\n- list:\n    elements: [{env: dev}]\n", basicTemplate("app-{{env}}", "x")),
			names:   []string{"app-dev"},
			skipped: []string{"line 8: spec.generators[0]: the " + kind + " generator is not expanded by ferry"},
		})
	}
	cases = append(cases, genCase{
		name:    "inside a matrix the whole matrix is skipped",
		appset:  appset(false, "- matrix:\n    generators:\n    - list: {elements: [{env: dev}]}\n    - pullRequest: {github: {owner: o, repo: r}}\n", basicTemplate("app-{{env}}", "x")),
		skipped: []string{"spec.generators[0].matrix.generators[1]: the pullRequest generator"},
	}, genCase{
		name:   "two kinds in one generator",
		appset: appset(false, "- list: {elements: [{env: dev}]}\n  clusters: {}\n", basicTemplate("app-{{env}}", "x")),
		err:    []string{"appsets/test.yaml:8:", "exactly one kind, found 2 (list, clusters)"},
	})
	runGenCases(t, cases)
}
