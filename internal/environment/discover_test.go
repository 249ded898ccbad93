package environment_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/config"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// seedApplication is the seed article's Application, indentation restored,
// otherwise verbatim (comments included).
const seedApplication = `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: payment-service
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://github.com/skillzmist/infrastructure
    targetRevision: main
    path: services/payment-service
    helm:
      values: |
        replicas: 3
        image:
          tag: v2.4.1
  destination:
    server: https://kubernetes.default.svc
    namespace: production
  syncPolicy:
    automated:
      prune: true # Delete resources not in Git
      selfHeal: true # Sync if cluster drifts from Git
      allowEmpty: false # Prevent accidental deletion
    syncOptions:
      - CreateNamespace=true
    retry:
      limit: 5
      backoff:
        duration: 5s
        factor: 2
        maxDuration: 3m
  revisionHistoryLimit: 10 # Keep last 10 syncs for rollback
`

func ptr[T any](v T) *T { return &v }

// app writes a minimal Application.
func app(name, path string, extra ...string) string {
	return `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: ` + name + `
spec:
  source:
    repoURL: https://github.com/skillzmist/infrastructure
    path: ` + path + "\n" + strings.Join(extra, "\n") + `
  destination:
    server: https://kubernetes.default.svc
    namespace: ` + name + "\n"
}

func appEnv(name, file, path string, typ environment.SourceType) environment.Environment {
	return environment.Environment{
		Name: name, Origin: environment.FromApplication, File: file, Line: 1, Path: path, Type: typ,
		RepoURL:     "https://github.com/skillzmist/infrastructure",
		Destination: environment.Destination{Server: "https://kubernetes.default.svc", Namespace: name},
	}
}

func TestDiscoverApplications(t *testing.T) {
	seedEnv := environment.Environment{
		Name: "payment-service", Origin: environment.FromApplication, File: "apps/payment-service.yaml", Line: 1,
		Path: "services/payment-service",
		// The helm block wins over the kustomization in the directory, as in Argo CD.
		Type:           environment.Helm,
		RepoURL:        "https://github.com/skillzmist/infrastructure",
		TargetRevision: "main",
		Destination:    environment.Destination{Server: "https://kubernetes.default.svc", Namespace: "production"},
		Project:        "default",
		Helm:           &environment.HelmSource{Values: "replicas: 3\nimage:\n  tag: v2.4.1\n"},
		SyncPolicy: &environment.SyncPolicy{
			Automated:   &environment.Automated{Prune: true, SelfHeal: true, AllowEmpty: ptr(false)},
			SyncOptions: []string{"CreateNamespace=true"},
			Retry: &environment.Retry{Limit: 5, Backoff: &environment.Backoff{
				Duration: "5s", Factor: ptr[int64](2), MaxDuration: "3m",
			}},
		},
		RevisionHistoryLimit: ptr[int64](10),
	}
	big := "# padding\n" + strings.Repeat("#"+strings.Repeat("x", 1023)+"\n", 1024) + app("too-big", "x")

	tests := []struct {
		name        string
		files       map[string]string
		repoURL     string
		want        []environment.Environment
		wantSkipped []environment.Skipped
	}{
		{
			name: "seed article Application",
			files: merge(map[string]string{
				"apps/payment-service.yaml":                     seedApplication,
				"services/payment-service/kustomization.yaml":   kustomizationHeader + "resources: [deployment.yaml]\n",
				"services/payment-service/deployment.yaml":      "kind: Deployment\n",
				"services/payment-service/not-an-app.yaml":      "kind: ConfigMap\n",
				"services/payment-service/also-not-an-app.json": `{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application"}`,
			}),
			repoURL: "git@github.com:skillzmist/infrastructure.git",
			want:    []environment.Environment{seedEnv},
		},
		{
			name: "source type detection",
			files: map[string]string{
				"apps.yml": app("chart", "charts/a") + "---\n" + app("overlay", "k/overlay") + "---\n" +
					app("plain", "manifests") + "---\n" + app("root", ".") + "---\n" +
					"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argoproj.io-lookalike\n---\n" +
					app("forced-directory", "charts/a", "    directory:\n      recurse: true") + "---\n" +
					app("forced-kustomize", "manifests", "    kustomize: {}"),
				"charts/a/Chart.yaml":            "apiVersion: v2\nname: a\nversion: 0.1.0\n",
				"k/overlay/Kustomization":        kustomizationHeader,
				"manifests/cm.yaml":              "kind: ConfigMap\n",
				"manifests/Chart.yaml/README.md": "a directory named Chart.yaml is not a chart\n",
			},
			want: []environment.Environment{
				appEnv("chart", "apps.yml", "charts/a", environment.Helm),
				func() environment.Environment {
					e := appEnv("forced-directory", "apps.yml", "charts/a", environment.Directory)
					e.Directory = &environment.DirectorySource{Recurse: true}
					return e
				}(),
				func() environment.Environment {
					e := appEnv("forced-kustomize", "apps.yml", "manifests", environment.Kustomize)
					e.Kustomize = &environment.KustomizeSource{}
					return e
				}(),
				appEnv("overlay", "apps.yml", "k/overlay", environment.Kustomize),
				appEnv("plain", "apps.yml", "manifests", environment.Directory),
				appEnv("root", "apps.yml", ".", environment.Directory),
			},
		},
		{
			name: "helm and kustomize options",
			files: map[string]string{
				"helm.yaml": app("h", "charts/a", `    helm:
      releaseName: pay
      valueFiles: [values-prod.yaml, /shared/values.yaml]
      parameters:
        - name: image.tag
          value: "1.10"
          forceString: true
        - name: replicas
          value: "2"
      valuesObject:
        image: {tag: v2}
        replicas: 4
        flags: [a, b]`),
				"kustomize.yaml": app("k", "k/overlay", `    kustomize:
      images: ["payment-service=registry.example.com/pay:v3"]
      replicas:
        - name: payment-service
          count: 2
        - name: worker
          count: "7"
      namePrefix: p-
      nameSuffix: -s
      namespace: ns
      commonLabels: {team: backend}`),
				"sync.yaml": app("s", "m", `  syncPolicy:
    automated:
      enabled: false
      prune: yes
    retry:
      limit: 2`),
			},
			want: []environment.Environment{
				func() environment.Environment {
					e := appEnv("h", "helm.yaml", "charts/a", environment.Helm)
					e.Helm = &environment.HelmSource{
						ReleaseName: "pay",
						ValueFiles:  []string{"values-prod.yaml", "/shared/values.yaml"},
						Parameters: []environment.HelmParameter{
							{Name: "image.tag", Value: "1.10", ForceString: true},
							{Name: "replicas", Value: "2"},
						},
						ValuesObject: map[string]any{
							"image": map[string]any{"tag": "v2"}, "replicas": float64(4), "flags": []any{"a", "b"},
						},
					}
					return e
				}(),
				func() environment.Environment {
					e := appEnv("k", "kustomize.yaml", "k/overlay", environment.Kustomize)
					e.Kustomize = &environment.KustomizeSource{
						Images:       []string{"payment-service=registry.example.com/pay:v3"},
						Replicas:     []environment.Replica{{Name: "payment-service", Count: 2}, {Name: "worker", Count: 7}},
						NamePrefix:   "p-",
						NameSuffix:   "-s",
						Namespace:    "ns",
						CommonLabels: map[string]string{"team": "backend"},
					}
					return e
				}(),
				func() environment.Environment {
					e := appEnv("s", "sync.yaml", "m", environment.Directory)
					e.SyncPolicy = &environment.SyncPolicy{
						Automated: &environment.Automated{Enabled: ptr(false), Prune: true},
						Retry:     &environment.Retry{Limit: 2},
					}
					return e
				}(),
			},
		},
		{
			name: "external repositories",
			files: map[string]string{
				"apps/other.yaml": strings.Replace(app("other", "monitoring"), "skillzmist/infrastructure", "skillzmist/platform", 1),
				"apps/same.yaml":  strings.Replace(app("same", "."), "https://github.com/skillzmist/infrastructure", "ssh://git@github.com:22/SkillzMist/Infrastructure.git/", 1),
				"apps/chart.yaml": `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: ingress-nginx
spec:
  source:
    repoURL: https://kubernetes.github.io/ingress-nginx
    chart: ingress-nginx
    targetRevision: 4.11.0
  destination:
    name: in-cluster
    namespace: ingress
`,
			},
			repoURL: "https://github.com/skillzmist/infrastructure",
			want: []environment.Environment{
				{
					Name: "ingress-nginx", Origin: environment.FromApplication, File: "apps/chart.yaml", Type: environment.Helm,
					Chart:       &environment.ChartSource{RepoURL: "https://kubernetes.github.io/ingress-nginx", Name: "ingress-nginx", Version: "4.11.0"},
					Destination: environment.Destination{Name: "in-cluster", Namespace: "ingress"},
				},
				func() environment.Environment {
					e := appEnv("other", "apps/other.yaml", "monitoring", "")
					e.RepoURL = "https://github.com/skillzmist/platform"
					e.External = true
					return e
				}(),
				func() environment.Environment {
					e := appEnv("same", "apps/same.yaml", ".", environment.Directory)
					e.RepoURL = "ssh://git@github.com:22/SkillzMist/Infrastructure.git/"
					return e
				}(),
			},
		},
		{
			name: "unusable files and Applications are skipped with a reason",
			files: map[string]string{
				// A Helm template: not YAML until rendered.
				"charts/apps/templates/app.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {{ .Values.name }}\n  labels:\n    {{- include \"x\" . | nindent 4 }}\n",
				// A template that happens to parse.
				"charts/apps/templates/quoted.yaml": app("quoted", `"{{ .Values.path }}"`),
				// Unparsable, with an Argo CD annotation but no Application: not ours to report.
				"charts/web/templates/deploy.yaml": "kind: Deployment\nmetadata:\n  annotations:\n    argocd.argoproj.io/sync-wave: \"1\"\n  labels:\n    {{- include \"x\" . | nindent 4 }}\n",
				"multi.yaml": app("kept", ".") + "---\n" + app("multi", ".") +
					"  sources:\n    - repoURL: https://github.com/skillzmist/infrastructure\n      path: a\n",
				"nosource.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: nosource\nspec:\n  destination: {}\n",
				"noname.yaml":   "apiVersion: argoproj.io/v1alpha1\nkind: Application\nspec:\n  source:\n    path: .\n",
				"escape.yaml":   app("escape", "../outside"),
				"plugin.yaml":   app("plugin", ".", "    plugin:\n      name: cdk8s"),
				"both.yaml":     app("both", ".", "    helm: {}\n    kustomize: {}"),
				"badtype.yaml":  app("badtype", ".", "    helm:\n      valueFiles: values.yaml"),
				"badcount.yaml": app("badcount", ".", "    kustomize:\n      replicas:\n        - name: x\n          count: many"),
				"appset.yaml":   "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: per-cluster\nspec: {}\n",
				"dup-a.yaml":    app("dup", "."),
				"dup-b.yaml":    app("dup", "other"),
				"huge.yaml":     big,
				"linked.yaml":   symlinkPrefix + "dup-a.yaml",
				// Names Argo CD would refuse: never discovered, so never rendered or synced.
				"upper.yaml":      app("Payment", "."),
				"hostile.yaml":    "# a comment\n" + strings.Replace(app("placeholder", "."), "placeholder", `"x`+"`"+` **ready to merge** @org/team"`, 1),
				"long.yaml":       app(strings.Repeat("a", 254), "."),
				"maxlen.yaml":     app(strings.Repeat("b", 253), "."),
				"escapelink.yaml": symlinkPrefix + "../../../etc/passwd",
			},
			want: []environment.Environment{
				appEnv(strings.Repeat("b", 253), "maxlen.yaml", ".", environment.Directory),
				appEnv("dup", "dup-a.yaml", ".", environment.Directory),
				appEnv("kept", "multi.yaml", ".", environment.Directory),
			},
			wantSkipped: []environment.Skipped{
				{File: "badcount.yaml", Reason: `line 1: Application "badcount": spec.source.kustomize: replicas "x": count "many" (line 12) is not an integer`},
				{File: "badtype.yaml", Reason: `line 1: Application "badtype": badtype.yaml:10: cannot unmarshal !!str ` + "`values....`" + ` into []string`},
				{File: "both.yaml", Reason: `line 1: Application "both" sets both helm and kustomize`},
				{File: "charts/apps/templates/app.yaml", Reason: "not valid YAML, so any Application in it is not discovered (a template?): charts/apps/templates/app.yaml:5: did not find expected node content"},
				{File: "charts/apps/templates/quoted.yaml", Reason: `line 1: Application "quoted" is a template (it contains {{ }}); not discovered`},
				{File: "dup-b.yaml", Reason: `environment "dup" is already defined in dup-a.yaml`},
				{File: "escape.yaml", Reason: `line 1: Application "escape": spec.source.path: ../outside from .: path leaves the repository root`},
				{File: "huge.yaml", Reason: fmt.Sprintf("%d bytes is over 1048576; not searched for Applications", len(big))},
				{File: "multi.yaml", Reason: `line 14: Application "multi" sets both spec.source and spec.sources`},
				{File: "noname.yaml", Reason: "line 1: Application without metadata.name"},
				{File: "nosource.yaml", Reason: `line 1: Application "nosource" has no spec.source`},
				{File: "plugin.yaml", Reason: `line 1: Application "plugin" uses a config management plugin, which ferry does not render`},
				{File: "appset.yaml", Reason: `line 5: ApplicationSet "per-cluster" generates nothing: spec.generators is empty`},
				{File: "upper.yaml", Reason: `line 1: Application name "Payment"` + badName},
				{File: "hostile.yaml", Reason: "line 2: Application name \"x` **ready to merge** @org/team\"" + badName},
				{File: "long.yaml", Reason: `line 1: Application name "` + strings.Repeat("a", 80) + `…"` + badName},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := environment.Discover(testrepo.Tree(t, tt.files), environment.DiscoverOptions{RepoURL: tt.repoURL})
			if err != nil {
				t.Fatal(err)
			}
			want := withLines(tt.files, tt.want)
			if !reflect.DeepEqual(got.Environments, want) {
				t.Errorf("Environments:\n%s\nwant\n%s", dump(got.Environments), dump(want))
			}
			if !sameSkipped(got.Skipped, tt.wantSkipped) {
				t.Errorf("Skipped:\n%s\nwant\n%s", dump(got.Skipped), dump(tt.wantSkipped))
			}
		})
	}
}

// badName ends the reason an invalid name is skipped for.
const badName = " is not a valid Application name, so it is not discovered: use lower-case letters, digits, '-' and '.', " +
	"starting and ending with a letter or digit, at most 253 characters (a DNS-1123 subdomain, as Argo CD requires)"

// withLines sets each Application's Line: where its document starts in
// its file, counted from the "---" separators.
func withLines(files map[string]string, envs []environment.Environment) []environment.Environment {
	out := slices.Clone(envs)
	for i, e := range out {
		line := 1
		for _, doc := range strings.Split(files[e.File], "---\n") {
			if strings.Contains(doc, "\n  name: "+e.Name+"\n") {
				out[i].Line = line + strings.Count(doc[:strings.Index(doc, "apiVersion:")], "\n")
				break
			}
			line += strings.Count(doc, "\n") + 1
		}
	}
	return out
}

// sameSkipped compares ignoring order between files.
func sameSkipped(got, want []environment.Skipped) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[environment.Skipped]int{}
	for _, s := range got {
		seen[s]++
	}
	for _, s := range want {
		if seen[s] == 0 {
			return false
		}
		seen[s]--
	}
	return true
}

func dump[T any](v []T) string {
	var b strings.Builder
	for _, x := range v {
		b.WriteString(strings.ReplaceAll(strings.TrimSpace(sprintValue(x)), "\n", " ") + "\n")
	}
	return b.String()
}

func TestSameRepo(t *testing.T) {
	const here = "https://github.com/skillzmist/infrastructure"
	tests := []struct {
		url  string
		want bool
	}{
		{"https://github.com/skillzmist/infrastructure", true},
		{"https://github.com/skillzmist/infrastructure.git", true},
		{"https://github.com/skillzmist/infrastructure/", true},
		{"https://github.com/skillzmist/infrastructure.git/", true},
		{"HTTPS://GitHub.com/SkillzMist/Infrastructure", true},
		{"http://github.com/skillzmist/infrastructure", true},
		{"git@github.com:skillzmist/infrastructure.git", true},
		{"git@github.com:skillzmist/infrastructure", true},
		{"github.com:skillzmist/infrastructure.git", true},
		{"ssh://git@github.com/skillzmist/infrastructure.git", true},
		{"ssh://git@github.com:22/skillzmist/infrastructure.git", true},
		{"git://github.com/skillzmist/infrastructure.git", true},
		{"https://token@ghe.example.com:8443/skillzmist/infrastructure", true},
		{"github.com/skillzmist/infrastructure", true},
		{"skillzmist/infrastructure", true},
		{" https://github.com/skillzmist/infrastructure ", true},
		{"https://github.com/skillzmist/infrastructure?ref=main", true},
		{"https://github.com/skillzmist/infrastructure-old", false},
		{"https://github.com/skillzmist/platform", false},
		{"https://github.com/other/infrastructure", false},
		{"git@github.com:other/infrastructure.git", false},
		{"https://github.com/skillzmist", false},
		{"https://github.com", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := environment.SameRepo(tt.url, here); got != tt.want {
			t.Errorf("SameRepo(%q, %q) = %v, want %v", tt.url, here, got, tt.want)
		}
		if got := environment.SameRepo(here, tt.url); got != tt.want {
			t.Errorf("SameRepo(%q, %q) = %v, want %v (not symmetric)", here, tt.url, got, tt.want)
		}
	}
}

func TestDiscoverFerryConfig(t *testing.T) {
	files := map[string]string{
		"apps/staging.yaml":          app("staging", "envs/staging"),
		"envs/staging/Kustomization": kustomizationHeader,
		"charts/pay/Chart.yaml":      "apiVersion: v2\nname: pay\nversion: 0.1.0\n",
		".ferry.yaml": `environments:
  - name: pay-dev
    path: charts/pay
    namespace: dev
    cluster: dev-cluster
  - name: staging
    path: envs/staging
  - name: raw
    path: manifests/
    kustomize:
      namePrefix: raw-
  - name: Prod_EU
    path: manifests/
  - path: manifests/
    name: "evil <!-- @org/team\n### ready to merge"
diff:
  ignoreLabels: [helm.sh/chart]
`,
	}
	tr := testrepo.Tree(t, files)
	cfg, err := config.Load(tr)
	if err != nil {
		t.Fatal(err)
	}
	got, err := environment.Discover(tr, environment.DiscoverOptions{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	want := []environment.Environment{
		{
			Name: "pay-dev", Origin: environment.FromFerryConfig, File: ".ferry.yaml", Line: 2, Path: "charts/pay", Type: environment.Helm,
			Destination: environment.Destination{Name: "dev-cluster", Namespace: "dev"},
		},
		{
			Name: "raw", Origin: environment.FromFerryConfig, File: ".ferry.yaml", Line: 8, Path: "manifests", Type: environment.Kustomize,
			Kustomize: &environment.KustomizeSource{NamePrefix: "raw-"},
		},
		appEnv("staging", "apps/staging.yaml", "envs/staging", environment.Kustomize),
	}
	if !reflect.DeepEqual(got.Environments, want) {
		t.Errorf("Environments:\n%s\nwant\n%s", dump(got.Environments), dump(want))
	}
	wantSkipped := []environment.Skipped{
		{File: ".ferry.yaml", Reason: `environment "staging" is already defined in apps/staging.yaml`},
		{File: ".ferry.yaml", Reason: `line 12: environment name "Prod_EU"` + badName},
		{File: ".ferry.yaml", Reason: `line 14: environment name "evil <!-- @org/team\n### ready to merge"` + badName},
	}
	if !reflect.DeepEqual(got.Skipped, wantSkipped) {
		t.Errorf("Skipped: %v, want %v", got.Skipped, wantSkipped)
	}

	// A caller that forgets the config must not get a silently smaller list.
	if _, err := environment.Discover(tr, environment.DiscoverOptions{}); err == nil || !strings.Contains(err.Error(), ".ferry.yaml") {
		t.Errorf("Discover without Config on a repository with .ferry.yaml: err = %v, want an error naming .ferry.yaml", err)
	}
	// A typed nil *config.Config declares nothing but is not refused.
	var none *config.Config
	if got, err := environment.Discover(tr, environment.DiscoverOptions{Config: none}); err != nil || len(got.Environments) != 1 {
		t.Errorf("Discover with a nil *config.Config = %v, %v; want the one Application", got, err)
	}
}

func TestDiscoverConventional(t *testing.T) {
	chartFiles := map[string]string{
		// A chart with a vendored subchart and a file:// dependency.
		"charts/shop/Chart.yaml": `apiVersion: v2
name: shop
version: 1.0.0
dependencies:
  - name: redis
    repository: file://charts/redis
  - name: common
    repository: file://../common
  - name: postgresql
    repository: https://charts.example.com
`,
		"charts/shop/charts/redis/Chart.yaml":              "apiVersion: v2\nname: redis\nversion: 1.0.0\n",
		"charts/shop/charts/redis/charts/inner/Chart.yaml": "apiVersion: v2\nname: inner\nversion: 1.0.0\n",
		"charts/common/Chart.yaml":                         "apiVersion: v2\nname: common\nversion: 1.0.0\n",
		// Helm v2 style dependencies.
		"charts/legacy/Chart.yaml":        "apiVersion: v1\nname: legacy\nversion: 1.0.0\n",
		"charts/legacy/requirements.yaml": "dependencies:\n  - name: legacy-lib\n    repository: file://../legacy-lib\n",
		"charts/legacy-lib/Chart.yaml":    "apiVersion: v1\nname: legacy-lib\nversion: 1.0.0\n",
		"charts/lib/Chart.yaml":           "apiVersion: v2\nname: lib\ntype: library\nversion: 1.0.0\n",
		// A kustomization inside a chart is the chart's business.
		"charts/shop/kustomize/kustomization.yaml": kustomizationHeader,
	}
	tests := []struct {
		name  string
		files map[string]string
		want  []string // name:type
	}{
		{
			name:  "leaf overlays of a shared base",
			files: sharedBase(),
			want:  []string{"envs/prod-eu:kustomize", "envs/staging:kustomize"},
		},
		{
			name:  "top-level charts only",
			files: chartFiles,
			want:  []string{"charts/legacy:helm", "charts/shop:helm"},
		},
		{
			name: "components, chart homes and unparsable overlays",
			files: merge(sharedBase(), map[string]string{
				"components/tls/kustomization.yaml":  "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n",
				"envs/staging/kustomization.yaml":    kustomizationHeader + "resources: [../../base]\ncomponents: [../../components/tls]\n",
				"helm-kust/kustomization.yaml":       kustomizationHeader + "helmCharts:\n  - name: web\n    valuesFile: values.yaml\n",
				"helm-kust/charts/web/Chart.yaml":    "apiVersion: v2\nname: web\nversion: 1.0.0\n",
				"Resources-cased/kustomization.yaml": kustomizationHeader + "Resources:\n  - ../other-base\n",
				"other-base/kustomization.yaml":      kustomizationHeader,
				"broken/kustomization.yaml":          kustomizationHeader + "resources:\n  - a\n   b: c\n",
			}),
			want: []string{
				"Resources-cased:kustomize", "broken:kustomize",
				"envs/prod-eu:kustomize", "envs/staging:kustomize", "helm-kust:kustomize",
			},
		},
		{
			name: "a chart at the root holds everything",
			files: merge(sharedBase(), map[string]string{
				"Chart.yaml":          "apiVersion: v2\nname: root\nversion: 1.0.0\n",
				"charts/x/Chart.yaml": "apiVersion: v2\nname: x\nversion: 1.0.0\n",
			}),
			want: []string{".:helm"},
		},
		{
			name:  "nothing to find",
			files: map[string]string{"README.md": "hello\n", "docs/a.yaml": "a: 1\n"},
		},
		{
			name: "Applications switch convention off",
			files: merge(sharedBase(), map[string]string{
				"apps/one.yaml": app("one", "envs/staging"),
			}),
			want: []string{"one:kustomize"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := environment.Discover(testrepo.Tree(t, tt.files), environment.DiscoverOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range got.Environments {
				names = append(names, e.Name+":"+string(e.Type))
				if e.Origin == environment.FromDiscovery && (e.Path != e.Name || e.File != "") {
					t.Errorf("discovered %+v: want Path = Name and no File", e)
				}
			}
			if !reflect.DeepEqual(names, tt.want) {
				t.Errorf("environments %v, want %v", names, tt.want)
			}
		})
	}
}

// The test repository's README promises these environments.
func TestDiscoverTestdata(t *testing.T) {
	want := []environment.Environment{
		{
			Name: "payment-service", Origin: environment.FromApplication, File: "apps/payment-service.yaml", Line: 4,
			Path: "charts/payment-service", Type: environment.Helm,
			RepoURL: "https://github.com/skillzmist/infrastructure", TargetRevision: "main",
			Destination: environment.Destination{Server: "https://kubernetes.default.svc", Namespace: "production"}, Project: "default",
			Helm: &environment.HelmSource{Values: "replicas: 3\nimage:\n  tag: v2.4.1\n"},
			SyncPolicy: &environment.SyncPolicy{
				Automated:   &environment.Automated{Prune: true, SelfHeal: true, AllowEmpty: ptr(false)},
				SyncOptions: []string{"CreateNamespace=true"},
				Retry:       &environment.Retry{Limit: 5, Backoff: &environment.Backoff{Duration: "5s", Factor: ptr[int64](2), MaxDuration: "3m"}},
			},
			RevisionHistoryLimit: ptr[int64](10),
		},
		{
			Name: "payment-service-production", Origin: environment.FromApplication, File: "apps/payment-service-production.yaml", Line: 2,
			Path: "overlays/production", Type: environment.Kustomize,
			RepoURL: "git@github.com:skillzmist/infrastructure.git", TargetRevision: "main",
			Destination: environment.Destination{Server: "https://kubernetes.default.svc", Namespace: "production"}, Project: "default",
			SyncPolicy: &environment.SyncPolicy{SyncOptions: []string{"CreateNamespace=true"}},
		},
		{
			Name: "payment-service-staging", Origin: environment.FromApplication, File: "apps/payment-service-staging.yaml", Line: 1,
			Path: "overlays/staging", Type: environment.Kustomize,
			RepoURL: "https://github.com/skillzmist/infrastructure.git", TargetRevision: "main",
			Destination: environment.Destination{Server: "https://kubernetes.default.svc", Namespace: "staging"}, Project: "default",
			SyncPolicy: &environment.SyncPolicy{
				Automated:   &environment.Automated{Prune: true, SelfHeal: true},
				SyncOptions: []string{"CreateNamespace=true"},
			},
		},
		{
			Name: "platform-monitoring", Origin: environment.FromApplication, File: "apps/platform-monitoring.yaml", Line: 2,
			Path: "prometheus", External: true,
			RepoURL: "https://github.com/skillzmist/platform-monitoring.git", TargetRevision: "v1.8.0",
			Destination: environment.Destination{Name: "in-cluster", Namespace: "monitoring"}, Project: "platform",
		},
	}
	dirTree, err := repofs.OpenDir(testrepo.BaseDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer dirTree.Close()
	gitTree, err := repofs.OpenGit(context.Background(), testrepo.Build(t), testrepo.Main)
	if err != nil {
		t.Fatal(err)
	}
	defer gitTree.Close()
	for name, tr := range map[string]*repofs.Tree{"directory": dirTree, "git": gitTree} {
		t.Run(name, func(t *testing.T) {
			cfg, err := config.Load(tr)
			if err != nil {
				t.Fatal(err)
			}
			got, err := environment.Discover(tr, environment.DiscoverOptions{RepoURL: testrepo.RepoURL, Config: cfg})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Environments, want) {
				t.Errorf("Environments:\n%s\nwant\n%s", dump(got.Environments), dump(want))
			}
			if len(got.Skipped) != 0 {
				t.Errorf("Skipped: %v", got.Skipped)
			}
		})
	}
}
