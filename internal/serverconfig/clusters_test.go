package serverconfig

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/appset"
)

func TestLoadClusters(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []appset.Cluster
		err        string // with the file name in front
	}{
		{
			name: "clusters without contexts",
			yaml: "clusters:\n- name: prod\n  server: https://prod.example.com\n  labels: {env: prod}\n- name: in-cluster\n  server: https://kubernetes.default.svc\n",
			want: []appset.Cluster{{Name: "prod", Server: "https://prod.example.com", Labels: map[string]string{"env": "prod"}}, {Name: "in-cluster", Server: "https://kubernetes.default.svc"}},
		},
		{name: "empty file", yaml: "", want: nil},
		{name: "unknown field", yaml: "clusters:\n- name: a\n  sever: https://a\n", err: ":3"},
		{name: "no name", yaml: "clusters:\n- server: https://a\n", err: ":2: a cluster needs a name"},
		{name: "bad server", yaml: "clusters:\n- name: a\n  server: a.example.com\n", err: `:2: cluster "a": server "a.example.com": want an https://`},
		{name: "twice", yaml: "clusters:\n- name: a\n  server: https://a\n- name: a\n  server: https://b\n", err: `:4: cluster "a": defined twice (first at line 2)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "clusters.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := LoadClusters(path)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), path+tt.err) {
					t.Fatalf("error %v, want %q", err, path+tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("clusters %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestAppsetClusters: the server's own file gives the same clusters to
// ApplicationSets, with their labels and without their contexts.
func TestAppsetClusters(t *testing.T) {
	c, err := Load("testdata/ferry.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := LoadClusters("testdata/ferry.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := c.AppsetClusters()
	if len(got) != len(c.Clusters) || !reflect.DeepEqual(got, fromFile) {
		t.Fatalf("AppsetClusters %+v, LoadClusters %+v", got, fromFile)
	}
	for i, cl := range c.Clusters {
		if got[i].Name != cl.Name || got[i].Server != cl.Server || !reflect.DeepEqual(got[i].Labels, cl.Labels) {
			t.Errorf("cluster %d: %+v from %+v", i, got[i], cl)
		}
	}
	if (*Config)(nil).AppsetClusters() != nil {
		t.Error("a nil configuration has clusters")
	}
}
