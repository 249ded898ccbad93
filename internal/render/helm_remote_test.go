package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/fetch"
	"github.com/ferry-gitops/ferry/internal/fetchtest"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/reftools"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// webChart is a small external chart at version: a CRD, a helper, values
// and a Service that 0.2.0 adds.
func webChart(version string) map[string]string {
	files := map[string]string{
		"values.yaml":          "replicas: 1\nimage: nginx:" + version + "\n",
		"values-prod.yaml":     "replicas: 4\n",
		"crds/crd.yaml":        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n",
		"templates/_names.tpl": "{{ define \"web.name\" }}{{ .Release.Name }}-web{{ end }}\n",
		"templates/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"web.name\" . }}\n  namespace: {{ .Release.Namespace }}\n" +
			"spec:\n  replicas: {{ .Values.replicas }}\n  template:\n    spec:\n      containers:\n        - name: web\n          image: {{ .Values.image }}\n",
	}
	if version >= "0.2.0" {
		files["templates/svc.yaml"] = "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ include \"web.name\" . }}\nspec:\n  ports: [{port: 80}]\n"
	}
	return files
}

// chartServers are a chart repository and an OCI registry serving web at
// 0.1.0, 0.1.1 and 0.2.0, and the render options that allow both.
type chartServers struct {
	repo *fetchtest.ChartRepo
	reg  *fetchtest.Registry
}

func newChartServers(t *testing.T) *chartServers {
	t.Helper()
	s := &chartServers{repo: fetchtest.NewChartRepo(t), reg: fetchtest.NewRegistry(t)}
	for _, v := range []string{"0.1.0", "0.1.1", "0.2.0"} {
		s.repo.AddChart("web", v, webChart(v))
		s.reg.Push("web", v, webChart(v))
	}
	return s
}

func (s *chartServers) options(t *testing.T, cache string) Options {
	t.Helper()
	f, err := fetch.New(fetch.Config{CacheDir: cache, Repositories: fetch.Allowlist{
		{URL: s.repo.URL()}, {URL: s.reg.URL(), InsecureOCIForceHTTP: true}}})
	if err != nil {
		t.Fatal(err)
	}
	return Options{Remote: f}
}

// chartEnv is a multi-source Application's environment: chart from
// repoURL, value files from this repository ($values) or the chart.
func chartEnv(repoURL, version string, valueFiles ...string) environment.Environment {
	return environment.Environment{Name: "web", Type: environment.Helm, File: "apps/web.yaml",
		Destination: environment.Destination{Namespace: "shop"},
		Chart:       &environment.ChartSource{RepoURL: repoURL, Name: "web", Version: version},
		Helm:        &environment.HelmSource{ValueFiles: valueFiles, Refs: []string{"values"}}}
}

// TestRemoteChartLikeHelmTemplate renders charts from a Helm repository and
// an OCI registry, by exact version and by range, and requires what
// `helm template` (the reference CLI, fetching from the same servers)
// makes of them.
func TestRemoteChartLikeHelmTemplate(t *testing.T) {
	helm := reftools.Path(t, "helm")
	s := newChartServers(t)
	repoFiles := map[string]string{"values/web.yaml": "image: nginx:pinned\n"}
	tests := []struct {
		name, repoURL, version string
		values                 []string
		helmArgs               []string
	}{
		{"repository, exact", s.repo.URL(), "0.2.0", nil, []string{"web", "--repo", s.repo.URL(), "--version", "0.2.0"}},
		{"repository, range", s.repo.URL(), "~0.1.0", nil, []string{"web", "--repo", s.repo.URL(), "--version", "~0.1.0"}},
		{"repository, $values", s.repo.URL(), "0.1.0", []string{"$values/values/web.yaml"},
			[]string{"web", "--repo", s.repo.URL(), "--version", "0.1.0", "--values", "values/web.yaml"}},
		{"registry, exact", s.reg.URL(), "0.2.0", nil, []string{s.reg.URL() + "/web", "--version", "0.2.0", "--plain-http"}},
		{"registry without a scheme, range", strings.TrimPrefix(s.reg.URL(), "oci://"), "^0.1.0", nil,
			[]string{s.reg.URL() + "/web", "--version", "^0.1.0", "--plain-http"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Render(context.Background(), testrepo.Tree(t, repoFiles), chartEnv(tt.repoURL, tt.version, tt.values...), s.options(t, t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			want := helmTemplate(t, helm, testrepo.Files(t, repoFiles), tt.helmArgs...)
			if got := streamOf(t, res.Objects); got != want {
				t.Errorf("ferry and helm template differ\n--- ferry\n%s\n--- helm\n%s", got, want)
			}
			for _, o := range res.Objects {
				if o.Source != "apps/web.yaml" {
					t.Errorf("%s is attributed to %q, want the Application's file", o.Key, o.Source)
				}
			}
		})
	}
}

// helmTemplate runs `helm template web ARGS...` in dir, as ferry renders
// an environment named web in namespace shop, and returns its objects in
// ferry's order.
func helmTemplate(t *testing.T, helm, dir string, args ...string) string {
	t.Helper()
	out := runHelm(t, helm, dir, append([]string{"template", "web"}, append(args,
		"--namespace", "shop", "--kube-version", DefaultKubeVersion, "--include-crds")...)...)
	objs, err := manifest.Parse(out, "reference")
	if err != nil {
		t.Fatal(err)
	}
	manifest.Sort(objs)
	return streamOf(t, objs)
}

func runHelm(t *testing.T, helm, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(helm, args...)
	cmd.Dir = dir
	home := filepath.Join(dir, ".helm-home") // one per directory: `helm repo add` holds
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home+"/cache", "HELM_CONFIG_HOME="+home+"/config", "HELM_DATA_HOME="+home+"/data")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// TestRemoteChartValueFiles: a relative value file of an external chart is
// the chart's own, as Argo CD reads it; one the chart lacks is an error at
// the Application.
func TestRemoteChartValueFiles(t *testing.T) {
	s := newChartServers(t)
	opts := s.options(t, t.TempDir())
	res, err := Render(context.Background(), testrepo.Tree(t, nil), chartEnv(s.repo.URL(), "0.1.0", "values-prod.yaml"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := field(find(t, res.Objects, "Deployment", "web-web").Object, "spec", "replicas"); fmt.Sprint(got) != "4" {
		t.Errorf("replicas = %v (%T), want 4 from the chart's values-prod.yaml", got, got)
	}
	_, err = Render(context.Background(), testrepo.Tree(t, nil), chartEnv(s.repo.URL(), "0.1.0", "values-missing.yaml"), opts)
	var rerr *Error
	if !errors.As(err, &rerr) || rerr.File != "apps/web.yaml" || !strings.Contains(err.Error(), `"values-missing.yaml" is not in chart web 0.1.0`) {
		t.Errorf("missing chart value file: %v", err)
	}
}

// TestRemoteChartRefused: a repository outside the allowlist, or no
// allowlist at all, fails at the Application with the setting that would
// allow it, and no request leaves ferry.
func TestRemoteChartRefused(t *testing.T) {
	s := newChartServers(t)
	other := fetchtest.NewChartRepo(t)
	other.AddChart("web", "0.1.0", webChart("0.1.0"))
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"outside the allowlist", s.options(t, t.TempDir()), other.URL() + " is not an allowed repository"},
		{"nothing allowed", Options{}, "fetching is off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(context.Background(), testrepo.Tree(t, nil), chartEnv(other.URL(), "0.1.0"), tt.opts)
			var rerr *Error
			if !errors.As(err, &rerr) || rerr.File != "apps/web.yaml" || !strings.Contains(err.Error(), tt.want) ||
				!strings.Contains(err.Error(), "--config") {
				t.Errorf("error %v, want one at apps/web.yaml saying %q and naming --config", err, tt.want)
			}
			if got := other.Requests(); len(got) != 0 {
				t.Errorf("requests reached the refused repository: %v", got)
			}
		})
	}
	// Credentials in a repository URL are refused, and never repeated.
	_, err := Render(context.Background(), testrepo.Tree(t, nil), chartEnv("https://me:s3cret@charts.example.com", "1.0.0"), s.options(t, t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "cannot carry credentials") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("a repository URL with credentials: %v", err)
	}
}

// TestRemoteChartCached: a second render of a chart version, by a new
// fetcher on the same cache directory (as a new worker would), sends no
// request to the repository or the registry.
func TestRemoteChartCached(t *testing.T) {
	s := newChartServers(t)
	cache := t.TempDir()
	for _, repoURL := range []string{s.repo.URL(), s.reg.URL()} {
		if _, err := Render(context.Background(), testrepo.Tree(t, nil), chartEnv(repoURL, "0.2.0"), s.options(t, cache)); err != nil {
			t.Fatal(err)
		}
	}
	s.repo.Reset()
	s.reg.Reset()
	for _, repoURL := range []string{s.repo.URL(), s.reg.URL()} {
		if _, err := Render(context.Background(), testrepo.Tree(t, nil), chartEnv(repoURL, "0.2.0"), s.options(t, cache)); err != nil {
			t.Fatal(err)
		}
	}
	if r, g := s.repo.Requests(), s.reg.Requests(); len(r)+len(g) != 0 {
		t.Errorf("cached renders made requests: repository %v, registry %v", r, g)
	}
}

// TestRemoteChartDependencies: a chart in the repository whose dependency
// comes from an allowed repository renders as `helm dependency build` and
// `helm template` make it, Chart.lock's pin winning over a newer version
// the constraint allows.
func TestRemoteChartDependencies(t *testing.T) {
	helm := reftools.Path(t, "helm")
	deps := fetchtest.NewChartRepo(t)
	deps.AddChart("web", "0.1.0", webChart("0.1.0"))
	files := map[string]string{
		"charts/shop/Chart.yaml":               "apiVersion: v2\nname: shop\nversion: 1.0.0\ndependencies:\n  - name: web\n    version: ~0.1.0\n    repository: " + deps.URL() + "\n",
		"charts/shop/values.yaml":              "web:\n  replicas: 2\n",
		"charts/shop/templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop\n",
	}
	// helm writes the lock while 0.1.0 is the newest match; 0.1.5 comes later.
	dir := testrepo.Files(t, files)
	runHelm(t, helm, dir, "dependency", "update", "charts/shop")
	lock, err := os.ReadFile(filepath.Join(dir, "charts/shop/Chart.lock"))
	if err != nil {
		t.Fatal(err)
	}
	files["charts/shop/Chart.lock"] = string(lock)
	deps.AddChart("web", "0.1.5", webChart("0.1.5"))

	f, err := fetch.New(fetch.Config{CacheDir: t.TempDir(), Repositories: fetch.Allowlist{{URL: deps.URL()}}})
	if err != nil {
		t.Fatal(err)
	}
	env := environment.Environment{Name: "web", Type: environment.Helm, Path: "charts/shop", Destination: environment.Destination{Namespace: "shop"}}
	res, err := Render(context.Background(), testrepo.Tree(t, files), env, Options{Remote: f})
	if err != nil {
		t.Fatal(err)
	}
	if y := streamOf(t, res.Objects); !strings.Contains(y, "nginx:0.1.0") || !strings.Contains(y, "replicas: 2") {
		t.Errorf("the dependency is not the locked 0.1.0 with the parent's values:\n%s", y)
	}
	ref := testrepo.Files(t, files)
	runHelm(t, helm, ref, "repo", "add", "deps", deps.URL())
	runHelm(t, helm, ref, "dependency", "build", "charts/shop")
	if got, want := streamOf(t, res.Objects), helmTemplate(t, helm, ref, "charts/shop"); got != want {
		t.Errorf("ferry and helm dependency build + template differ\n--- ferry\n%s\n--- helm\n%s", got, want)
	}
}
