package render

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

func TestCompileGlob(t *testing.T) {
	tests := []struct {
		pattern string
		match   []string
		miss    []string
	}{
		{pattern: "*.yaml", match: []string{"a.yaml", "sub/a.yaml", ".yaml"}, miss: []string{"a.yml", "a.yaml.bak"}},
		{pattern: "{a.yaml,b.yaml}", match: []string{"a.yaml", "b.yaml"}, miss: []string{"c.yaml", "sub/a.yaml", "a.yamlb.yaml"}},
		{pattern: "sub/*", match: []string{"sub/a.yaml", "sub/deep/b.json"}, miss: []string{"a.yaml", "other/sub/a.yaml"}},
		{pattern: "**/*.jsonnet", match: []string{"x/a.jsonnet"}, miss: []string{"a.jsonnet"}},
		{pattern: "{*.json,sub/{x,y}.yaml}", match: []string{"a.json", "sub/x.yaml", "sub/y.yaml"}, miss: []string{"sub/z.yaml"}},
		{pattern: "?.yaml", match: []string{"a.yaml"}, miss: []string{"ab.yaml"}},
		{pattern: "[ab].yaml", match: []string{"a.yaml", "b.yaml"}, miss: []string{"c.yaml"}},
		{pattern: "[!ab].yaml", match: []string{"c.yaml"}, miss: []string{"a.yaml"}},
		{pattern: "[a-c]x.yaml", match: []string{"bx.yaml"}, miss: []string{"dx.yaml"}},
		{pattern: `\*.yaml`, match: []string{"*.yaml"}, miss: []string{"a.yaml"}},
		{pattern: "a+b(1).yaml", match: []string{"a+b(1).yaml"}, miss: []string{"aab1.yaml"}},
	}
	for _, tt := range tests {
		re, err := compileGlob(tt.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tt.pattern, err)
		}
		for _, m := range tt.match {
			if !re.MatchString(m) {
				t.Errorf("%s does not match %s", tt.pattern, m)
			}
		}
		for _, m := range tt.miss {
			if re.MatchString(m) {
				t.Errorf("%s matches %s", tt.pattern, m)
			}
		}
	}
	for _, bad := range []string{"{a,b", "[ab", "x\\"} {
		if _, err := compileGlob(bad); err == nil {
			t.Errorf("%q compiled", bad)
		}
	}
}

func TestDirectoryFields(t *testing.T) {
	cm := func(name string) string { return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n" }
	tree := testrepo.Tree(t, map[string]string{
		"app/a.yaml":            cm("a"),
		"app/b.yaml":            cm("b"),
		"app/c.json":            `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}`,
		"app/j.jsonnet":         `{apiVersion: "v1", kind: "ConfigMap", metadata: {name: "j"}}`,
		"app/skip.yaml":         "# +argocd:skip-file-rendering\n" + cm("skipped"),
		"app/sub/d.yaml":        cm("d"),
		"app/sub/deep/e.yaml":   cm("e"),
		"app/sub/k.jsonnet":     `[{apiVersion: "v1", kind: "ConfigMap", metadata: {name: "k"}}]`,
		"shared/f.yaml":         cm("f"),
		"shared/g/h.yaml":       cm("h"),
		"app/linked.yaml":       "symlink:../shared/f.yaml",
		"app/linkdir":           "symlink:../shared/g",
		"app/dangling.yaml":     "symlink:gone.yaml",
		"app/sub/deep/notes.md": "apiVersion: v1\n",
	})
	tests := []struct {
		name string
		dir  *environment.DirectorySource
		want []string
	}{
		{name: "defaults", want: []string{"a", "b", "c", "f", "j"}},
		{name: "recurse", dir: &environment.DirectorySource{Recurse: true}, want: []string{"a", "b", "c", "d", "e", "f", "j", "k"}},
		{name: "include a brace list", dir: &environment.DirectorySource{Recurse: true, Include: "{a.yaml,sub/d.yaml}"}, want: []string{"a", "d"}},
		{name: "include matches across directories", dir: &environment.DirectorySource{Recurse: true, Include: "*.jsonnet"}, want: []string{"j", "k"}},
		{name: "exclude", dir: &environment.DirectorySource{Recurse: true, Exclude: "sub/*"}, want: []string{"a", "b", "c", "f", "j"}},
		{name: "exclude wins over include", dir: &environment.DirectorySource{Recurse: true, Include: "*.yaml", Exclude: "{b.yaml,sub/deep/*}"}, want: []string{"a", "d", "f"}},
		{name: "symlinked file by its own name", dir: &environment.DirectorySource{Include: "linked.yaml"}, want: []string{"f"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := environment.Environment{Name: "app", Path: "app", Type: environment.Directory, Directory: tt.dir}
			res := render(t, tree, env)
			var got []string
			for _, o := range res.Objects {
				got = append(got, o.Key.Name)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("objects = %v, want %v", got, tt.want)
			}
		})
	}
	env := environment.Environment{Name: "app", Path: "app", Type: environment.Directory, File: "apps/app.yaml",
		Directory: &environment.DirectorySource{Include: "{a.yaml"}}
	_, err := Render(context.Background(), tree, env, Options{})
	var re *Error
	if !errors.As(err, &re) || re.File != "apps/app.yaml" || !strings.Contains(err.Error(), "directory.include") {
		t.Errorf("bad include: err = %v, want an error at the Application naming directory.include", err)
	}
}
