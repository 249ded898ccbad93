package environment_test

import (
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/ferry-gitops/ferry/internal/appset"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// TestDiscoverApplicationSets discovers the ApplicationSet test repository:
// every generated Application is an environment of origin applicationset
// whose File and Line are the ApplicationSet's; names generated twice
// keep the first, in path order, like any Application.
func TestDiscoverApplicationSets(t *testing.T) {
	tree, err := repofs.OpenDir("../../testdata/appsets/repo")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../../testdata/appsets/clusters.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Clusters []appset.Cluster }
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	clusters := file.Clusters
	d, err := environment.Discover(tree, environment.DiscoverOptions{RepoURL: "https://github.com/example/gitops", Clusters: clusters})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]environment.Environment{}
	for _, env := range d.Environments {
		got[env.Name] = env
		// Line is the ApplicationSet's: its apiVersion, after the comments.
		src, err := tree.ReadFile(env.File)
		if err != nil {
			t.Fatal(err)
		}
		line := 1 + strings.Count(string(src[:strings.Index(string(src), "apiVersion:")]), "\n")
		if env.Origin != environment.FromApplicationSet || env.Line != line {
			t.Errorf("%s: origin %q line %d, want applicationset, line %d", env.Name, env.Origin, env.Line, line)
		}
	}
	want := map[string]struct{ file, path, server string }{
		"guestbook":                      {"appsets/git-directories.yaml", "apps/guestbook", "https://kubernetes.default.svc"},
		"helm-guestbook":                 {"appsets/git-directories.yaml", "apps/helm-guestbook", "https://kubernetes.default.svc"},
		"svc-billing-api":                {"appsets/git-directories-gotemplate.yaml", "services/Billing_API", "https://kubernetes.default.svc"},
		"engineering-dev-guestbook":      {"appsets/git-files.yaml", "apps/guestbook", "https://1.2.3.4"},
		"payments-payments-eu":           {"appsets/git-files-gotemplate.yaml", "apps/guestbook", "https://payments-eu.example.com"},
		"production-eu-guestbook":        {"appsets/clusters.yaml", "apps/guestbook", "https://prod-eu.example.com"},
		"eu-staging":                     {"appsets/clusters-gotemplate.yaml", "apps/guestbook", "https://staging.example.com"},
		"helm-guestbook-prod-us":         {"appsets/matrix.yaml", "apps/helm-guestbook", "https://prod-us.example.com"},
		"engineering-dev-helm-guestbook": {"appsets/matrix-gotemplate.yaml", "apps/helm-guestbook", "https://1.2.3.4"},
		"prod-us":                        {"appsets/merge.yaml", "apps/helm-guestbook", "https://prod-us.example.com"},
		"tier-checkout":                  {"appsets/merge-gotemplate.yaml", "apps/guestbook", "https://kubernetes.default.svc"},
		"engineering-dev-deployment":     {"appsets/template-patch.yaml", "apps/helm-guestbook", "https://kubernetes.default.svc"},
		"mixed-sandbox":                  {"appsets/skipped.yaml", "apps/guestbook", "https://kubernetes.default.svc"},
	}
	for name, w := range want {
		env, ok := got[name]
		if !ok {
			t.Errorf("%s not discovered", name)
			continue
		}
		if env.File != w.file || env.Path != w.path || env.Destination.Server != w.server {
			t.Errorf("%s: file %s path %s server %s, want %+v", name, env.File, env.Path, env.Destination.Server, w)
		}
	}
	if env := got["engineering-dev-deployment"]; env.Type != environment.Helm || env.Helm == nil || strings.Join(env.Helm.ValueFiles, ",") != "values.large.yaml,values.debug.yaml" ||
		env.SyncPolicy == nil || env.SyncPolicy.Automated == nil || !env.SyncPolicy.Automated.Prune {
		t.Errorf("templatePatch not applied: %s", sprintValue(env))
	}
	// 31 generated, 4 of them names an earlier file generated.
	if len(d.Environments) != 27 {
		t.Errorf("%d environments, want 27", len(d.Environments))
	}
	for _, want := range []environment.Skipped{
		{File: "appsets/list.yaml", Reason: `environment "engineering-dev-guestbook" is already defined in appsets/git-files.yaml`},
		{File: "appsets/skipped.yaml", Reason: `line 10: ApplicationSet "mixed": spec.generators[0]: the scmProvider generator is not expanded by ferry (it lists repositories through an SCM provider's API); the Applications it generates are not discovered`},
		{File: "appsets/skipped.yaml", Reason: `line 17: ApplicationSet "mixed": spec.generators[2].git: the git generator reads https://github.com/example/other-repo.git, another repository; ferry reads only this one, so the Applications it generates are not discovered`},
	} {
		if !containsSkipped(d.Skipped, want) {
			t.Errorf("not skipped: %+v\nskipped: %s", want, dump(d.Skipped))
		}
	}
}

func containsSkipped(got []environment.Skipped, want environment.Skipped) bool {
	for _, s := range got {
		if s == want {
			return true
		}
	}
	return false
}

// TestDiscoverApplicationSetProblems: an ApplicationSet that cannot be
// expanded, and generated Applications ferry cannot take, are skipped with
// the file and line; the rest is discovered.
func TestDiscoverApplicationSetProblems(t *testing.T) {
	head := "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: %s\nspec:\n"
	files := map[string]string{
		"broken.yaml":   strings.Replace(head, "%s", "broken", 1) + "  goTemplate: true\n  goTemplateOptions: [missingkey=error]\n  generators:\n  - list: {elements: [{env: dev}]}\n  template:\n    metadata: {name: '{{ .nope }}'}\n    spec: {project: default}\n",
		"bad-apps.yaml": strings.Replace(head, "%s", "bad-apps", 1) + "  generators:\n  - list: {elements: [{env: Dev}, {env: ok}]}\n  template:\n    metadata: {name: 'x-{{env}}'}\n    spec:\n      project: default\n      source: {repoURL: https://github.com/example/gitops.git, path: '.'}\n      destination: {server: https://kubernetes.default.svc, namespace: '{{env}}'}\n",
	}
	d, err := environment.Discover(testrepo.Tree(t, files), environment.DiscoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Environments) != 1 || d.Environments[0].Name != "x-ok" || d.Environments[0].Origin != environment.FromApplicationSet || d.Environments[0].Line != 1 {
		t.Fatalf("environments: %s", dump(d.Environments))
	}
	for _, want := range []environment.Skipped{
		{File: "broken.yaml", Reason: `line 11: ApplicationSet "broken" generates nothing: failed to execute go template "{{ .nope }}": template: :1:3: executing "" at <.nope>: map has no entry for key "nope"`},
		{File: "bad-apps.yaml", Reason: `line 1: ApplicationSet "bad-apps", spec.generators[0] {"env":"Dev"}: Application name "x-Dev" is not a valid Application name, so it is not discovered: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters (a DNS-1123 subdomain, as Argo CD requires)`},
	} {
		if !containsSkipped(d.Skipped, want) {
			t.Errorf("not skipped: %+v\nskipped: %s", want, dump(d.Skipped))
		}
	}
}
