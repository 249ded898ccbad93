package testrepo

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestScenariosMatchTestdata(t *testing.T) {
	dir, err := GitOpsDir()
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "scenarios"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if e.IsDir() {
			got = append(got, e.Name())
		}
	}
	if want := Scenarios(); !reflect.DeepEqual(got, want) {
		t.Errorf("scenario directories %v, Scenarios() %v", got, want)
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	a, b := Build(t), Build(t)
	refsA, refsB := git(t, a, "show-ref"), git(t, b, "show-ref")
	if refsA != refsB {
		t.Fatalf("two builds differ:\n%s\n%s", refsA, refsB)
	}
	var branches []string
	for _, line := range strings.Split(strings.TrimSpace(refsA), "\n") {
		_, ref, _ := strings.Cut(line, " ")
		branches = append(branches, strings.TrimPrefix(ref, "refs/heads/"))
	}
	want := []string{Main}
	for _, s := range Scenarios() {
		want = append(want, Branch(s))
	}
	sort.Strings(want)
	if !reflect.DeepEqual(branches, want) {
		t.Errorf("branches %v, want %v", branches, want)
	}
	if head := strings.TrimSpace(git(t, a, "symbolic-ref", "HEAD")); head != "refs/heads/main" {
		t.Errorf("HEAD is %s, want main checked out", head)
	}
	if status := git(t, a, "status", "--porcelain"); status != "" {
		t.Errorf("work tree not clean:\n%s", status)
	}
}

func TestScenarioChanges(t *testing.T) {
	repo := Build(t)
	want := map[string]string{
		ImageBumpProduction: "M\toverlays/production/kustomization.yaml",
		BaseChange:          "M\tservices/payment-service/configmap.yaml\nM\tservices/payment-service/deployment.yaml",
		AddRemoveResource:   "D\tcharts/payment-service/templates/service.yaml\nM\toverlays/production/kustomization.yaml\nA\toverlays/production/pdb.yaml",
		SecretChange:        "M\toverlays/staging/secret.yaml",
		BrokenKustomization: "M\toverlays/staging/kustomization.yaml",
		HelmValues:          "M\tapps/payment-service.yaml",
	}
	for _, s := range Scenarios() {
		t.Run(s, func(t *testing.T) {
			got := strings.TrimSpace(git(t, repo, "diff", "--name-status", Main, Branch(s)))
			if got != want[s] {
				t.Errorf("main..%s changes\n%s\nwant\n%s", Branch(s), got, want[s])
			}
		})
	}
}

// The test data must render the way its README says; these checks use
// kustomize and Helm directly so they do not depend on ferry's renderer.
func TestTestdataRenders(t *testing.T) {
	repo := Build(t)
	type check struct {
		env     string // overlay dir, or "chart" for the Helm Application
		want    []string
		wantErr string
	}
	tests := []struct {
		branch string
		checks []check
	}{
		{Main, []check{
			{env: "overlays/staging", want: []string{"replicas: 1", "image: payment-service:v2.4.1-staging", "environment: staging", "log_level: debug", "kind: Secret", "API_KEY: fake-staging-api-key-1", "namespace: services", "team: backend"}},
			{env: "overlays/production", want: []string{"replicas: 5", "image: payment-service:v2.4.1", "environment: production", "log_level: info"}},
			{env: "chart", want: []string{"replicas: 3", `image: "payment-service:v2.4.1"`, "kind: Service", "helm.sh/chart: payment-service-0.1.0", "checksum/config: "}},
		}},
		{Branch(ImageBumpProduction), []check{
			{env: "overlays/production", want: []string{"image: payment-service:v2.5.0"}},
		}},
		{Branch(BaseChange), []check{
			{env: "overlays/staging", want: []string{"request_timeout: 30s", "memory: 512Mi"}},
			{env: "overlays/production", want: []string{"request_timeout: 30s", "memory: 512Mi"}},
		}},
		{Branch(AddRemoveResource), []check{
			{env: "overlays/production", want: []string{"kind: PodDisruptionBudget"}},
		}},
		{Branch(SecretChange), []check{
			{env: "overlays/staging", want: []string{"API_KEY: fake-staging-api-key-2", "DB_PASSWORD: ZmFrZS1zdGFnaW5nLWRiLXBhc3N3b3JkLTI="}},
		}},
		{Branch(BrokenKustomization), []check{
			{env: "overlays/staging", wantErr: "line 14: mapping values are not allowed in this context"},
		}},
		{Branch(HelmValues), []check{
			{env: "chart", want: []string{"replicas: 5"}},
		}},
	}
	for _, tt := range tests {
		git(t, repo, "checkout", "-q", tt.branch)
		for _, c := range tt.checks {
			t.Run(tt.branch+"/"+c.env, func(t *testing.T) {
				var out string
				var err error
				if c.env == "chart" {
					out, err = renderChart(repo)
				} else {
					out, err = kustomizeBuild(filepath.Join(repo, c.env))
				}
				if c.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), c.wantErr) {
						t.Fatalf("render error %v, want one containing %q", err, c.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range c.want {
					if !strings.Contains(out, w) {
						t.Errorf("render has no %q:\n%s", w, out)
					}
				}
			})
		}
	}
	t.Run(Branch(AddRemoveResource)+"/chart loses its Service", func(t *testing.T) {
		git(t, repo, "checkout", "-q", Branch(AddRemoveResource))
		out, err := renderChart(repo)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "kind: Service\n") {
			t.Errorf("chart still renders a Service:\n%s", out)
		}
	})
}

func kustomizeBuild(dir string) (string, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return "", err
	}
	out, err := m.AsYaml()
	return string(out), err
}

// renderChart renders charts/payment-service with the payment-service
// Application's inline values, as Argo CD would.
func renderChart(repo string) (string, error) {
	appData, err := os.ReadFile(filepath.Join(repo, "apps", "payment-service.yaml"))
	if err != nil {
		return "", err
	}
	var app struct {
		Spec struct {
			Source struct {
				Path string `json:"path"`
				Helm struct {
					Values string `json:"values"`
				} `json:"helm"`
			} `json:"source"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(appData, &app); err != nil {
		return "", err
	}
	chrt, err := loader.Load(filepath.Join(repo, app.Spec.Source.Path))
	if err != nil {
		return "", err
	}
	vals, err := chartutil.ReadValues([]byte(app.Spec.Source.Helm.Values))
	if err != nil {
		return "", err
	}
	rv, err := chartutil.ToRenderValues(chrt, vals, chartutil.ReleaseOptions{Name: "payment-service", Namespace: "production"}, chartutil.DefaultCapabilities)
	if err != nil {
		return "", err
	}
	files, err := engine.Render(chrt, rv)
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		if strings.HasSuffix(n, ".yaml") {
			b.WriteString("---\n" + files[n])
		}
	}
	return b.String(), nil
}

func TestGenerateOverlays(t *testing.T) {
	dir := t.TempDir()
	if err := GenerateOverlays(dir, 12); err != nil {
		t.Fatal(err)
	}
	overlays, err := filepath.Glob(filepath.Join(dir, "overlays", "*", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(overlays) != 12 {
		t.Fatalf("%d overlays, want 12", len(overlays))
	}
	out, err := kustomizeBuild(filepath.Join(dir, "overlays", "env-005"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"namespace: env-005", "image: registry.example.com/service-1:v1.5.0", "environment: env-005", "replicas: 1"} {
		if !strings.Contains(out, w) {
			t.Errorf("env-005 render has no %q:\n%s", w, out)
		}
	}
	// Same input, same bytes: benchmarks compare runs.
	again := t.TempDir()
	if err := GenerateOverlays(again, 12); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "overlays", "env-011", "kustomization.yaml"))
	b, _ := os.ReadFile(filepath.Join(again, "overlays", "env-011", "kustomization.yaml"))
	if string(a) != string(b) {
		t.Error("GenerateOverlays is not deterministic")
	}
}
