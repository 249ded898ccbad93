package appset

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path"
	"reflect"
	"strings"
	"testing"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"

	"github.com/ferry-gitops/ferry/internal/repofs"
)

const (
	testRepo     = "../../testdata/appsets/repo"
	testExpected = "../../testdata/appsets/expected"
	testRepoURL  = "https://github.com/example/gitops"
)

// sameRepo compares repository URLs by their last two path segments, which
// is all the test repository needs (environment.SameRepo is the real one).
func sameRepo(a, b string) bool {
	norm := func(u string) string {
		u = strings.TrimSuffix(strings.ToLower(u), ".git")
		u = strings.ReplaceAll(u, ":", "/")
		parts := strings.Split(strings.Trim(u, "/"), "/")
		if len(parts) < 2 {
			return u
		}
		return strings.Join(parts[len(parts)-2:], "/")
	}
	return norm(a) == norm(b)
}

func testClusters(t testing.TB) []Cluster {
	t.Helper()
	b, err := os.ReadFile("../../testdata/appsets/clusters.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Clusters []Cluster }
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	return file.Clusters
}

// firstDoc parses the first YAML document of data.
func firstDoc(t testing.TB, data []byte) *yamlv3.Node {
	t.Helper()
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

// readDocs reads every document of a YAML file as JSON values.
func readDocs(t *testing.T, file string) []any {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	for {
		var n yamlv3.Node
		if err := dec.Decode(&n); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		v, err := jsonValue(&n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
}

func dump(t *testing.T, v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTestdataExpansions expands every ApplicationSet of the test
// repository and compares the Applications with the expected ones written
// down from Argo CD's documented behaviour.
func TestTestdataExpansions(t *testing.T) {
	tree, err := repofs.OpenDir(testRepo)
	if err != nil {
		t.Fatal(err)
	}
	clusters := testClusters(t)
	var files []string
	for _, f := range tree.Files() {
		if path.Dir(f) == "appsets" {
			files = append(files, f)
		}
	}
	if len(files) < 10 {
		t.Fatalf("only %d ApplicationSets in %s", len(files), testRepo)
	}
	for _, file := range files {
		t.Run(path.Base(file), func(t *testing.T) {
			data, err := tree.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			exp, err := Expand(tree, file, firstDoc(t, data), Options{RepoURL: testRepoURL, Clusters: clusters, SameRepo: sameRepo})
			if err != nil {
				t.Fatal(err)
			}
			want := readDocs(t, path.Join(testExpected, exp.Name+".yaml"))
			var got []any
			for _, a := range exp.Applications {
				v, err := jsonValue(a.Node)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, v)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s generates:\n%s\nwant:\n%s", file, dump(t, got), dump(t, want))
			}
		})
	}
}
