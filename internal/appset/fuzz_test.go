package appset

import (
	"os"
	"path/filepath"
	"testing"

	yamlv3 "go.yaml.in/yaml/v3"

	"github.com/ferry-gitops/ferry/internal/repofs"
)

// FuzzExpand feeds arbitrary ApplicationSets (seeded with the test
// repository's) over the test repository: Expand returns Applications or
// an error naming the file, and never panics.
func FuzzExpand(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join(testRepo, "appsets", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	tree, err := repofs.OpenDir(testRepo)
	if err != nil {
		f.Fatal(err)
	}
	clusters := []Cluster{{Name: "a", Server: "https://a", Labels: map[string]string{"env": "production"}}}
	lim := defaultLimits
	lim.Steps, lim.Applications = 20000, 50
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc yamlv3.Node
		if yamlv3.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
			return
		}
		exp, err := expand(tree, "appsets/fuzz.yaml", doc.Content[0], Options{RepoURL: testRepoURL, Clusters: clusters, SameRepo: sameRepo}, lim)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		for _, a := range exp.Applications {
			if a.Node == nil || a.Node.Kind != yamlv3.MappingNode {
				t.Fatalf("%s: not a mapping", a.Name)
			}
		}
	})
}
