package environment_test

import (
	"reflect"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// TestArgoSourceFields reads the kustomize and helm fields of
// spec.source beyond images, values and parameters.
func TestArgoSourceFields(t *testing.T) {
	tests := []struct {
		name   string
		source string
		want   environment.Environment
	}{
		{
			name: "kustomize",
			source: `    path: overlay
    kustomize:
      commonAnnotations: {owner: team-a}
      commonAnnotationsEnvsubst: true
      labelWithoutSelector: true
      labelIncludeTemplates: true
      forceCommonLabels: true
      forceCommonAnnotations: true
      components: [../components/a]
      ignoreMissingComponents: true
      kubeVersion: "1.29"
      apiVersions: [example.com/v1]
      patches:
        - path: patch.yaml
        - patch: |-
            - op: replace
              path: /spec/replicas
              value: 2
          target: {group: apps, version: v1, kind: Deployment, name: web, namespace: ns, labelSelector: a=b, annotationSelector: c=d}
          options: {allowNameChange: true}
`,
			want: environment.Environment{Path: "overlay", Type: environment.Kustomize, Kustomize: &environment.KustomizeSource{
				CommonAnnotations: map[string]string{"owner": "team-a"}, CommonAnnotationsEnvsubst: true,
				LabelWithoutSelector: true, LabelIncludeTemplates: true, ForceCommonLabels: true, ForceCommonAnnotations: true,
				Components: []string{"../components/a"}, IgnoreMissingComponents: true,
				KubeVersion: "1.29", APIVersions: []string{"example.com/v1"},
				Patches: []environment.KustomizePatch{
					{Path: "patch.yaml"},
					{Patch: "- op: replace\n  path: /spec/replicas\n  value: 2", Options: map[string]bool{"allowNameChange": true},
						Target: &environment.PatchTarget{Group: "apps", Version: "v1", Kind: "Deployment", Name: "web", Namespace: "ns", LabelSelector: "a=b", AnnotationSelector: "c=d"}},
				},
			}},
		},
		{
			name: "helm",
			source: `    path: chart
    helm:
      kubeVersion: 1.30.1
      apiVersions: [monitoring.coreos.com/v1]
      skipCrds: true
      ignoreMissingValueFiles: true
      passCredentials: true
      namespace: other
      fileParameters:
        - {name: cert, path: files/cert.pem}
`,
			want: environment.Environment{Path: "chart", Type: environment.Helm, Helm: &environment.HelmSource{
				KubeVersion: "1.30.1", APIVersions: []string{"monitoring.coreos.com/v1"}, SkipCrds: true,
				IgnoreMissingValueFiles: true, Namespace: "other",
				FileParameters: []environment.HelmFileParameter{{Name: "cert", Path: "files/cert.pem"}},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\nspec:\n  source:\n    repoURL: " + repo + "\n" +
				tt.source + "  destination: {server: https://kubernetes.default.svc, namespace: web}\n"
			got, err := environment.Discover(testrepo.Tree(t, map[string]string{"apps/web.yaml": app}), environment.DiscoverOptions{RepoURL: repo})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Environments) != 1 {
				t.Fatalf("environments %+v skipped %+v", got.Environments, got.Skipped)
			}
			e := got.Environments[0]
			w := tt.want
			w.Name, w.Origin, w.File, w.Line, w.RepoURL = "web", environment.FromApplication, "apps/web.yaml", e.Line, repo
			w.Destination = environment.Destination{Server: "https://kubernetes.default.svc", Namespace: "web"}
			if !reflect.DeepEqual(e, w) {
				t.Errorf("got  %+v\nwant %+v", e, w)
			}
		})
	}
}
