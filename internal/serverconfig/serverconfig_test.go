package serverconfig

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/project"
)

func TestLoad(t *testing.T) {
	c, err := Load("testdata/ferry.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Clusters) != 2 || c.Clusters[0].Labels["env"] != "prod" || c.Clusters[0].Line != 3 {
		t.Errorf("clusters %+v", c.Clusters)
	}
	if len(c.Projects) != 2 || c.Projects[1].Name != "payments" || c.Projects[1].Source != "testdata/ferry.yaml:17" ||
		c.Projects[1].Repos[0] != "acme/payments-*" || !c.Projects[1].SyncWindows[0].ManualSync {
		t.Errorf("projects %+v", c.Projects)
	}
	if _, err := project.NewCatalog(c.Projects, ""); err != nil {
		t.Errorf("the example's projects: %v", err)
	}
	if len(c.Repositories) != 3 || c.Repositories[2].PasswordFile != "/etc/ferry/git-token" || c.Repositories[0].Line != 25 {
		t.Errorf("repositories %+v", c.Repositories)
	}
	if f := c.Fetch("/cache"); f == nil || f.CacheDir != "/cache" || len(f.Repositories) != 3 {
		t.Errorf("fetch %+v", f)
	}
	if f := (&Config{}).Fetch("/cache"); f != nil {
		t.Errorf("no repositories, yet fetch %+v", f)
	}
	if got := c.Contexts(); got["production"] != "prod" || got["https://prod.example.com"] != "prod" || len(got) != 2 {
		t.Errorf("contexts %v", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown field", "clusters:\n  - name: a\n    sever: https://a\n", "x.yaml:3"},
		{"no name", "clusters:\n  - server: https://a\n    context: a\n", "x.yaml:2: a cluster needs a name"},
		{"bad server", "clusters:\n  - name: a\n    server: a.example.com\n    context: a\n", `x.yaml:2: cluster "a": server "a.example.com": want an https://`},
		{"no context", "clusters:\n  - name: a\n    server: https://a\n", `x.yaml:2: cluster "a": needs a kubeconfig context`},
		{"twice", "clusters:\n  - {name: a, server: https://a, context: a}\n  - {name: a, server: https://b, context: b}\n", `x.yaml:3: cluster "a": defined twice (first at line 2)`},
		{"same server", "clusters:\n  - {name: a, server: https://a, context: a}\n  - {name: b, server: https://a/, context: b}\n", `x.yaml:3: cluster "b": server https://a/ is also`},
		{"project twice", "projects:\n  - name: p\n  - name: p\n", `x.yaml:3: project "p" is defined twice`},
		{"project field typo", "projects:\n  - name: p\n    destination: []\n", "x.yaml:3"},
		{"repository without url", "repositories:\n  - usernameFile: /u\n", "x.yaml:2: a repository needs a url"},
		{"password in the url", "repositories:\n  - url: https://me:s3cret@charts.example.com\n", "x.yaml:2: repository https://***@charts.example.com: credentials go in usernameFile/passwordFile"},
		{"any environment variable", "repositories:\n  - url: https://charts.example.com\n    passwordEnv: HOME\n", "x.yaml:2: repository https://charts.example.com: environment variable HOME must start with FERRY_"},
		{"a pattern", "repositories:\n  - url: https://*.example.com\n", "url is a prefix, not a pattern"},
		{"unreadable keyring", "repositories:\n  - url: https://a.example.com\n    keyringFile: /nonexistent/ring.gpg\n", "x.yaml:2: repository https://a.example.com: keyringFile: open /nonexistent/ring.gpg"},
		{"repository field typo", "repositories:\n  - url: https://a\n    password: x\n", "x.yaml:3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "x.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLoadTooBig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, []byte("#"+strings.Repeat("x", maxSize)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("err = %v", err)
	}
}

func TestCluster(t *testing.T) {
	c, err := Load("testdata/ferry.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cfg  *Config
		dest environment.Destination
		want project.Cluster
	}{
		{c, environment.Destination{Name: "production"}, project.Cluster{Name: "production", Server: "https://prod.example.com"}},
		{c, environment.Destination{Server: "https://prod.example.com/"}, project.Cluster{Name: "production", Server: "https://prod.example.com"}},
		{c, environment.Destination{Server: "https://other.example.com"}, project.Cluster{Server: "https://other.example.com"}},
		{nil, environment.Destination{Server: "https://kubernetes.default.svc"}, project.Cluster{Name: "in-cluster", Server: "https://kubernetes.default.svc"}},
		{nil, environment.Destination{Name: "in-cluster"}, project.Cluster{Name: "in-cluster", Server: "https://kubernetes.default.svc"}},
		{nil, environment.Destination{Name: "staging"}, project.Cluster{Name: "staging"}},
	}
	for _, tt := range tests {
		if got := tt.cfg.Cluster(tt.dest); got != tt.want {
			t.Errorf("Cluster(%+v) = %+v, want %+v", tt.dest, got, tt.want)
		}
	}
}

func TestContexts(t *testing.T) {
	tests := []struct {
		name string
		cfg  *Config
		want map[string]string
	}{
		{"no file", nil, map[string]string{}},
		{"name and server, without the trailing slash", &Config{Clusters: []Cluster{{Name: "prod", Server: "https://prod.example.com/", Context: "p"}}},
			map[string]string{"prod": "p", "https://prod.example.com": "p"}},
		{"a cluster without a context maps nothing", &Config{Clusters: []Cluster{{Name: "in-cluster", Server: "https://kubernetes.default.svc"}}},
			map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cfg.Contexts(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Contexts() = %v, want %v", got, tt.want)
			}
		})
	}
}
