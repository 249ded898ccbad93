package fetchtest

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"
)

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPackage(t *testing.T) {
	b := Package(t, "app", "1.2.3", map[string]string{"values.yaml": "a: 1\n", "templates/cm.yaml": "kind: ConfigMap\n"})
	c, err := loader.LoadArchive(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "app" || c.Metadata.Version != "1.2.3" || c.Values["a"] != float64(1) || len(c.Templates) != 1 {
		t.Fatalf("chart %s %s values %v templates %d", c.Name(), c.Metadata.Version, c.Values, len(c.Templates))
	}
}

func TestChartRepo(t *testing.T) {
	r := NewChartRepo(t)
	digest := r.AddChart("app", "1.0.0", nil)
	var idx repo.IndexFile
	if err := yaml.Unmarshal(get(t, r.URL()+"/index.yaml"), &idx); err != nil {
		t.Fatal(err)
	}
	cv, err := idx.Get("app", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if "sha256:"+cv.Digest != digest || cv.URLs[0] != "charts/app-1.0.0.tgz" {
		t.Fatalf("index entry %v %s", cv.URLs, cv.Digest)
	}
	if Digest(get(t, r.URL()+"/charts/app-1.0.0.tgz")) != digest {
		t.Fatal("served archive is not the indexed one")
	}
	want := []string{"/stable/index.yaml", "/stable/charts/app-1.0.0.tgz"}
	if got := r.Requests(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("requests %v, want %v", got, want)
	}
	r.RequireBasicAuth("u", "p")
	resp, err := http.Get(r.URL() + "/index.yaml")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without credentials: %s", resp.Status)
	}
}

func TestRegistry(t *testing.T) {
	r := NewRegistry(t)
	digest := r.Push("app", "0.1.0", nil)
	if len(r.Requests()) != 0 {
		t.Fatalf("Push was recorded: %v", r.Requests())
	}
	client, err := registry.NewClient(registry.ClientOptPlainHTTP(), registry.ClientOptCredentialsFile(t.TempDir()+"/c.json"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Pull(strings.TrimPrefix(r.URL(), "oci://") + "/app:0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if res.Chart.Digest != digest || Digest(res.Chart.Data) != digest {
		t.Fatalf("pulled %s, pushed %s", res.Chart.Digest, digest)
	}
	if len(r.Requests()) == 0 {
		t.Fatal("the pull was not recorded")
	}
}
