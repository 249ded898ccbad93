package fetch

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/ferry-gitops/ferry/internal/fetchtest"
)

// versionsRegistry holds the chart "app" at several versions.
func versionsRegistry(t *testing.T) (*fetchtest.Registry, map[string]string) {
	t.Helper()
	reg := fetchtest.NewRegistry(t)
	digests := map[string]string{}
	for _, v := range []string{"1.0.0", "1.2.0", "1.2.3", "1.3.0-rc.1", "2.0.0"} {
		digests[v] = reg.Push("app", v, map[string]string{"templates/cm.yaml": "kind: ConfigMap\n"})
	}
	return reg, digests
}

func TestOCIResolvesVersions(t *testing.T) {
	reg, digests := versionsRegistry(t)
	schemeless := strings.TrimPrefix(reg.URL(), "oci://")
	tests := []struct{ repoURL, version, want string }{
		{reg.URL(), "1.2.0", "1.2.0"},
		{schemeless, "1.2.3", "1.2.3"},
		{reg.URL() + "/", "^1.0.0", "1.2.3"},
		{reg.URL(), "~1.2", "1.2.3"},
		{reg.URL(), "", "2.0.0"},
		{reg.URL(), "*", "2.0.0"},
		{reg.URL(), ">=1.3.0-0 <2", "1.3.0-rc.1"},
	}
	f := newFetcher(t, reg.URL())
	for _, tt := range tests {
		t.Run(tt.repoURL+" "+tt.version, func(t *testing.T) {
			ch, err := f.Chart(context.Background(), ChartRef{RepoURL: tt.repoURL, Chart: "app", Version: tt.version})
			if err != nil {
				t.Fatal(err)
			}
			if ch.Version != tt.want || ch.Digest != digests[tt.want] || fetchtest.Digest(ch.Archive) != ch.Digest {
				t.Fatalf("got %s %s, want %s %s", ch.Version, ch.Digest, tt.want, digests[tt.want])
			}
			c, err := loader.LoadArchive(bytes.NewReader(ch.Archive))
			if err != nil || c.Metadata.Version != tt.want {
				t.Fatalf("archive does not load as %s: %v", tt.want, err)
			}
		})
	}
}

func TestOCIErrors(t *testing.T) {
	reg, _ := versionsRegistry(t)
	f := newFetcher(t, reg.URL())
	tests := []struct{ chart, version, want string }{
		{"app", "9.9.9", "9.9.9"},
		{"app", "^9", `no version matches "^9"`},
		{"missing", "1.0.0", "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.chart+" "+tt.version, func(t *testing.T) {
			_, err := f.Chart(context.Background(), ChartRef{RepoURL: reg.URL(), Chart: tt.chart, Version: tt.version})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

func TestOCICacheHits(t *testing.T) {
	reg, _ := versionsRegistry(t)
	f := newFetcher(t, reg.URL())
	for _, version := range []string{"1.2.0", "^1"} {
		if _, err := f.Chart(context.Background(), ChartRef{RepoURL: reg.URL(), Chart: "app", Version: version}); err != nil {
			t.Fatal(err)
		}
		reg.Reset()
		ch, err := f.Chart(context.Background(), ChartRef{RepoURL: reg.URL(), Chart: "app", Version: version})
		if err != nil {
			t.Fatal(err)
		}
		if got := reg.Requests(); len(got) != 0 {
			t.Fatalf("%s again (resolved to %s) sent %v", version, ch.Version, got)
		}
	}
}

func TestOCINotAllowedSendsNothing(t *testing.T) {
	reg, _ := versionsRegistry(t)
	tests := []struct{ name, allowed string }{
		{"other path", "oci://" + reg.Host() + "/other"},
		{"other chart", reg.URL() + "/app2"},
		{"prefix without boundary", reg.URL() + "/ap"},
		{"https, not oci", "https://" + reg.Host() + "/charts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg.Reset()
			f := newFetcher(t, tt.allowed)
			_, err := f.Chart(context.Background(), ChartRef{RepoURL: reg.URL(), Chart: "app", Version: "^1"})
			if !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("error %v, want not allowed", err)
			}
			if got := reg.Requests(); len(got) != 0 {
				t.Fatalf("registry got %v", got)
			}
		})
	}
	// An entry naming the chart itself allows it.
	f := newFetcher(t, reg.URL()+"/app")
	if _, err := f.Chart(context.Background(), ChartRef{RepoURL: reg.URL(), Chart: "app", Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
}

func TestOCINoPlainHTTPFallback(t *testing.T) {
	reg, _ := versionsRegistry(t)
	f := newFetcherConfig(t, Config{Repositories: Allowlist{{URL: reg.URL()}}})
	_, err := f.Chart(context.Background(), ChartRef{RepoURL: reg.URL(), Chart: "app", Version: "1.0.0"})
	if err == nil {
		t.Fatal("fetched over plain HTTP without insecureOCIForceHttp")
	}
	if got := reg.Requests(); len(got) != 0 {
		t.Fatalf("registry got plain HTTP requests %v", got)
	}
}

func TestOCIBasicAuth(t *testing.T) {
	reg := fetchtest.NewRegistry(t)
	reg.RequireBasicAuth("robot", "s3cret-pass")
	reg.Push("app", "1.0.0", nil)
	t.Setenv("FERRY_REG_USER", "robot")
	t.Setenv("FERRY_REG_PASS", "s3cret-pass")
	ref := ChartRef{RepoURL: reg.URL(), Chart: "app", Version: "^1"}

	_, err := newFetcherConfig(t, Config{}, reg.URL()).Chart(context.Background(), ref)
	if err == nil {
		t.Fatal("fetched without credentials")
	}
	for _, r := range reg.Log() {
		if r.User != "" {
			t.Fatalf("%s carried credentials none were configured for", r.Path)
		}
	}
	reg.Reset()
	entry := Repository{URL: reg.URL(), UsernameEnv: "FERRY_REG_USER", PasswordEnv: "FERRY_REG_PASS", InsecureOCIForceHTTP: true}
	ch, err := newFetcherConfig(t, Config{Repositories: Allowlist{entry}}).Chart(context.Background(), ref)
	if err != nil || ch.Version != "1.0.0" {
		t.Fatalf("got %v, %v", ch, err)
	}
	sent := false
	for _, r := range reg.Log() {
		sent = sent || r.User == "robot"
	}
	if !sent {
		t.Fatal("credentials never sent")
	}
}

func TestOCISizeLimit(t *testing.T) {
	reg := fetchtest.NewRegistry(t)
	big := reg.Push("big", "1.0.0", map[string]string{"files/blob": noise(200 << 10)})
	reg.Push("small", "1.0.0", nil)
	f := newFetcherConfig(t, Config{MaxBytes: 64 << 10}, reg.URL())
	_, err := f.Chart(context.Background(), ChartRef{RepoURL: reg.URL(), Chart: "big", Version: "1.0.0"})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error %v, want ErrTooLarge", err)
	}
	for _, r := range reg.Log() {
		if r.Method == "GET" && strings.HasSuffix(r.Path, "/blobs/"+big) {
			t.Fatal("the layer was downloaded: the manifest declares its size, so it is refused before")
		}
	}
	if _, err := f.Chart(context.Background(), ChartRef{RepoURL: reg.URL(), Chart: "small", Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
}
