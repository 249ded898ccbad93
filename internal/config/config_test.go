package config

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

func ptr[T any](v T) *T { return &v }

const full = `# ferry settings
environments:
  - name: payment-service-dev
    path: services/payment-service/
    namespace: dev
    cluster: https://dev.example.com:6443
    kustomize:
      images: ["payment-service:v9"]
      replicas:
        - name: payment-service
          count: 2
      namePrefix: dev-
      commonLabels: {tier: dev}
  - name: payment-chart
    path: /charts/payment-service
    cluster: in-cluster
    helm:
      releaseName: pay
      valueFiles: [values-dev.yaml]
      values: |
        replicas: 2
      valuesObject:
        image:
          tag: v2.4.1
        replicas: 3
      parameters:
        - name: image.tag
          value: 1.10
          forceString: true
    syncPolicy:
      automated:
        prune: true
        allowEmpty: false
      syncOptions: [CreateNamespace=true]
      retry:
        limit: 5
        backoff: {duration: 5s, factor: 2, maxDuration: 3m}
diff:
  ignoreLabels: [helm.sh/chart, app.kubernetes.io/version]
  ignoreAnnotations: ["checksum/*"]
`

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		want    *Config
		wantErr string // substring; the line is part of it
	}{
		{
			name:  "no file",
			files: map[string]string{"README.md": "hi"},
			want:  &Config{},
		},
		{
			name:  "empty file",
			files: map[string]string{".ferry.yaml": "# nothing yet\n"},
			want:  &Config{},
		},
		{
			name:  "full",
			files: map[string]string{".ferry.yaml": full},
			want: &Config{
				Environments: []EnvironmentConfig{
					{
						Name: "payment-service-dev", Path: "services/payment-service", Namespace: "dev",
						Cluster: "https://dev.example.com:6443",
						Kustomize: &environment.KustomizeSource{
							Images:       []string{"payment-service:v9"},
							Replicas:     []environment.Replica{{Name: "payment-service", Count: 2}},
							NamePrefix:   "dev-",
							CommonLabels: map[string]string{"tier": "dev"},
						},
						Line: 3,
					},
					{
						Name: "payment-chart", Path: "charts/payment-service", Cluster: "in-cluster",
						Helm: &environment.HelmSource{
							ReleaseName:  "pay",
							ValueFiles:   []string{"values-dev.yaml"},
							Values:       "replicas: 2\n",
							ValuesObject: map[string]any{"image": map[string]any{"tag": "v2.4.1"}, "replicas": float64(3)},
							Parameters:   []environment.HelmParameter{{Name: "image.tag", Value: "1.10", ForceString: true}},
						},
						SyncPolicy: &environment.SyncPolicy{
							Automated:   &environment.Automated{Prune: true, AllowEmpty: ptr(false)},
							SyncOptions: []string{"CreateNamespace=true"},
							Retry: &environment.Retry{Limit: 5, Backoff: &environment.Backoff{
								Duration: "5s", Factor: ptr[int64](2), MaxDuration: "3m",
							}},
						},
						Line: 14,
					},
				},
				Diff: DiffConfig{
					IgnoreLabels:      []string{"helm.sh/chart", "app.kubernetes.io/version"},
					IgnoreAnnotations: []string{"checksum/*"},
				},
			},
		},
		{
			name: "anchors and merge keys",
			files: map[string]string{".ferry.yaml": `environments:
  - &base
    name: a
    path: envs/a
    namespace: shared
  - <<: *base
    name: b
    path: envs/b
`},
			want: &Config{Environments: []EnvironmentConfig{
				{Name: "a", Path: "envs/a", Namespace: "shared", Line: 2},
				{Name: "b", Path: "envs/b", Namespace: "shared", Line: 6},
			}},
		},
		{
			name:    "wrong extension is not silently ignored",
			files:   map[string]string{".ferry.yml": "diff: {}\n"},
			wantErr: ".ferry.yml: ferry reads .ferry.yaml",
		},
		{
			name:    "unknown top-level field",
			files:   map[string]string{".ferry.yaml": "diff: {}\nenviroments: []\n"},
			wantErr: `.ferry.yaml:2: unknown field "enviroments" (did you mean "environments"?)`,
		},
		{
			name: "unknown nested field",
			files: map[string]string{".ferry.yaml": `environments:
  - name: a
    path: envs/a
    helm:
      valueFile: [x.yaml]
`},
			wantErr: `.ferry.yaml:5: environments[0].helm: unknown field "valueFile" (did you mean "valueFiles"?)`,
		},
		{
			name:    "bool expected",
			files:   map[string]string{".ferry.yaml": "environments:\n- name: a\n  path: a\n  syncPolicy:\n    automated:\n      prune: yes\n"},
			wantErr: `.ferry.yaml:6: environments[0].syncPolicy.automated.prune: expected true or false, found "yes"`,
		},
		{
			name:    "missing name",
			files:   map[string]string{".ferry.yaml": "environments:\n- path: a\n"},
			wantErr: ".ferry.yaml:2: environments[0]: name is required",
		},
		{
			name:    "missing path",
			files:   map[string]string{".ferry.yaml": "environments:\n- name: a\n"},
			wantErr: ".ferry.yaml:2: environments[0]: path is required",
		},
		{
			name:    "path leaves the repository",
			files:   map[string]string{".ferry.yaml": "environments:\n- name: a\n  path: envs/../../etc\n"},
			wantErr: ".ferry.yaml:2: environments[0]: path: envs/../../etc from .: path leaves the repository root",
		},
		{
			name:    "helm and kustomize",
			files:   map[string]string{".ferry.yaml": "environments:\n- name: a\n  path: a\n  helm: {}\n  kustomize: {}\n"},
			wantErr: ".ferry.yaml:2: environments[0]: helm and kustomize are exclusive",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(testrepo.Tree(t, tt.files))
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Load() = %+v, want error containing %q", got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load() error = %q, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load() =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

func TestErrorsAreParseErrors(t *testing.T) {
	_, err := Parse([]byte("diff:\n  nope: 1\n"))
	var pe *manifest.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %T is not a *manifest.ParseError", err)
	}
	if pe.File != FileName || pe.Line != 2 {
		t.Errorf("ParseError at %s:%d, want %s:2", pe.File, pe.Line, FileName)
	}
}

func TestDeclaredEnvironments(t *testing.T) {
	cfg, err := Parse([]byte(full))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.DeclaredEnvironments()
	want := []environment.Environment{
		{
			Name: "payment-service-dev", Origin: environment.FromFerryConfig, File: ".ferry.yaml", Line: 3,
			Path: "services/payment-service", Type: environment.Kustomize,
			Destination: environment.Destination{Server: "https://dev.example.com:6443", Namespace: "dev"},
			Kustomize:   cfg.Environments[0].Kustomize,
		},
		{
			Name: "payment-chart", Origin: environment.FromFerryConfig, File: ".ferry.yaml", Line: 14,
			Path: "charts/payment-service", Type: environment.Helm,
			Destination: environment.Destination{Name: "in-cluster"},
			Helm:        cfg.Environments[1].Helm,
			SyncPolicy:  cfg.Environments[1].SyncPolicy,
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DeclaredEnvironments() =\n%#v\nwant\n%#v", got, want)
	}
	var none *Config
	if got := none.DeclaredEnvironments(); got != nil {
		t.Errorf("nil config declared %v", got)
	}
}

func TestDiffIgnores(t *testing.T) {
	d := DiffConfig{
		IgnoreLabels:      []string{"helm.sh/chart", "app.kubernetes.io/*"},
		IgnoreAnnotations: []string{"checksum/*", "*/last-applied-*"},
	}
	tests := []struct {
		annotation bool
		key        string
		want       bool
	}{
		{false, "helm.sh/chart", true},
		{false, "helm.sh/chart-x", false},
		{false, "app.kubernetes.io/version", true},
		{false, "app.kubernetes.io", false},
		{false, "app", false},
		{true, "checksum/config", true},
		{true, "checksum/secrets/db", true},
		{true, "checksum", false},
		{true, "kubectl.kubernetes.io/last-applied-configuration", true},
		{true, "helm.sh/chart", false},
	}
	for _, tt := range tests {
		patterns := d.IgnoreLabels
		if tt.annotation {
			patterns = d.IgnoreAnnotations
		}
		got := slices.ContainsFunc(patterns, func(p string) bool { return diff.MatchKey(p, tt.key) })
		if got != tt.want {
			t.Errorf("ignores(annotation=%v, %q) = %v, want %v", tt.annotation, tt.key, got, tt.want)
		}
	}
}

func TestSyncSection(t *testing.T) {
	tests := []struct {
		yaml    string
		frac    float64
		timeout time.Duration
		wantErr string
	}{
		{yaml: "", frac: 0.5, timeout: 5 * time.Minute},
		{yaml: "sync:\n  maxPrunePercent: 20\n  healthTimeout: 90s\n", frac: 0.2, timeout: 90 * time.Second},
		{yaml: "sync:\n  maxPrunePercent: 0\n", frac: 0, timeout: 5 * time.Minute},
		{yaml: "sync:\n  maxPrunePercent: 120\n", wantErr: "maxPrunePercent"},
		{yaml: "sync:\n  healthTimeout: soon\n", wantErr: "healthTimeout"},
		{yaml: "sync:\n  maxPrune: 20\n", wantErr: "unknown field"},
	}
	for _, tt := range tests {
		c, err := Parse([]byte(tt.yaml))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: err %v, want %q", tt.yaml, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tt.yaml, err)
		}
		if got := c.Sync.MaxPruneFraction(0.5); got != tt.frac {
			t.Errorf("%q: fraction %v, want %v", tt.yaml, got, tt.frac)
		}
		if got := c.Sync.Timeout(5 * time.Minute); got != tt.timeout {
			t.Errorf("%q: timeout %v, want %v", tt.yaml, got, tt.timeout)
		}
	}
}
