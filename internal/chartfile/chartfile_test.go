package chartfile_test

import (
	"errors"
	"io/fs"
	"reflect"
	"testing"

	"github.com/ferry-gitops/ferry/internal/chartfile"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

func TestRead(t *testing.T) {
	tr := testrepo.Tree(t, map[string]string{
		"pay/Chart.yaml":       "apiVersion: v2\nname: pay\nversion: 1.0.0\ndependencies:\n  - name: common\n    repository: file://../common\n  - repository: https://charts.example.com\n    name: &r redis\n  - name: {not: a name}\n",
		"lib/Chart.yaml":       "apiVersion: v2\nname: lib\ntype: library\nversion: 1.0.0\n",
		"v1/Chart.yaml":        "apiVersion: v1\nname: v1\nversion: 1.0.0\n",
		"v1/requirements.yaml": "dependencies:\n  - name: old\n    repository: file://../old\n",
		"bad/Chart.yaml":       "apiVersion: v2\ndependencies:\n  - name: a\n   repository: b\n",
		"empty/Chart.yaml":     "",
	})
	tests := []struct {
		dir  string
		want *chartfile.Chart
	}{
		{dir: "pay", want: &chartfile.Chart{File: "pay/Chart.yaml", Dependencies: []chartfile.Dependency{
			{Name: "common", Repository: "file://../common", File: "pay/Chart.yaml", Line: 5},
			{Name: "redis", Repository: "https://charts.example.com", File: "pay/Chart.yaml", Line: 8},
			{File: "pay/Chart.yaml"},
		}}},
		{dir: "lib", want: &chartfile.Chart{File: "lib/Chart.yaml", Library: true}},
		{dir: "v1", want: &chartfile.Chart{File: "v1/Chart.yaml", Dependencies: []chartfile.Dependency{
			{Name: "old", Repository: "file://../old", File: "v1/requirements.yaml", Line: 2},
		}}},
		{dir: "empty", want: &chartfile.Chart{File: "empty/Chart.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			got, err := chartfile.Read(tr, tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Read() = %+v, want %+v", got, tt.want)
			}
			if again, _ := chartfile.Read(tr, tt.dir); again != got {
				t.Error("the chart was read twice in one tree")
			}
		})
	}
	var pe *manifest.ParseError
	if _, err := chartfile.Read(tr, "bad"); !errors.As(err, &pe) || pe.File != "bad/Chart.yaml" || pe.Line != 4 {
		t.Errorf("Read(bad) error = %v, want a *manifest.ParseError at bad/Chart.yaml:4", err)
	}
	if _, err := chartfile.Read(tr, "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read(missing) error = %v, want fs.ErrNotExist", err)
	}
}
