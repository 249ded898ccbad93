package environment_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

func directoryApp(directory string) string {
	return `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
spec:
  project: default
  source:
    repoURL: ` + repo + `
    path: web
    directory:
` + directory + `  destination:
    server: https://kubernetes.default.svc
    namespace: web
`
}

func TestDirectorySource(t *testing.T) {
	tests := []struct {
		name       string
		directory  string
		want       *environment.DirectorySource
		wantReason string
	}{
		{name: "empty block", directory: "      {}\n"},
		{name: "all fields", directory: `      recurse: true
      include: '{a.yaml,b.jsonnet}'
      exclude: 'tmp/*'
      jsonnet:
        extVars:
        - {name: env, value: prod}
        - {name: cfg, value: '{a: 1}', code: true}
        tlas:
        - name: replicas
          value: "3"
          code: yes
        libs: [vendor, /lib]
`, want: &environment.DirectorySource{Recurse: true, Include: "{a.yaml,b.jsonnet}", Exclude: "tmp/*",
			Jsonnet: &environment.JsonnetSource{
				ExtVars: []environment.JsonnetVar{{Name: "env", Value: "prod"}, {Name: "cfg", Value: "{a: 1}", Code: true}},
				TLAs:    []environment.JsonnetVar{{Name: "replicas", Value: "3", Code: true}},
				Libs:    []string{"vendor", "/lib"},
			}}},
		{name: "recurse not a boolean", directory: "      recurse: maybe\n",
			wantReason: "apps/web.yaml:11: directory.recurse: cannot unmarshal"},
		{name: "extVars not a list", directory: "      jsonnet:\n        extVars: {name: a}\n",
			wantReason: "apps/web.yaml:12: directory.jsonnet.extVars: expected a list"},
		{name: "tla without a name", directory: "      jsonnet:\n        tlas:\n        - value: x\n",
			wantReason: "apps/web.yaml:13: directory.jsonnet.tlas[0]: name is required"},
		{name: "code not a boolean", directory: "      jsonnet:\n        tlas:\n        - name: a\n          code: [x]\n",
			wantReason: "apps/web.yaml:14: directory.jsonnet.tlas[0]: cannot unmarshal"},
		{name: "libs not a list", directory: "      jsonnet:\n        libs: {a: b}\n",
			wantReason: "apps/web.yaml:12: directory.jsonnet.libs: cannot unmarshal"},
		{name: "jsonnet not a mapping", directory: "      jsonnet: [a]\n",
			wantReason: "apps/web.yaml:11: directory.jsonnet: expected a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"apps/web.yaml": directoryApp(tt.directory), "web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"}
			got, err := environment.Discover(testrepo.Tree(t, files), environment.DiscoverOptions{RepoURL: repo})
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantReason != "" {
				if len(got.Environments) != 0 || len(got.Skipped) != 1 || !strings.Contains(got.Skipped[0].Reason, tt.wantReason) {
					t.Fatalf("environments %+v skipped %+v, want skipped for %q", got.Environments, got.Skipped, tt.wantReason)
				}
				return
			}
			if len(got.Environments) != 1 {
				t.Fatalf("environments %+v skipped %+v", got.Environments, got.Skipped)
			}
			e := got.Environments[0]
			if e.Type != environment.Directory {
				t.Errorf("type = %q, want directory", e.Type)
			}
			if !reflect.DeepEqual(e.Directory, tt.want) {
				t.Errorf("directory = %+v, want %+v", e.Directory, tt.want)
			}
		})
	}
}
