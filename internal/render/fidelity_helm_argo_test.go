package render_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/reftools"
	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// argoHelmRepo is a chart whose output shows .Capabilities, the release
// namespace, a --set-file value and its CRDs.
var argoHelmRepo = map[string]string{
	"chart/Chart.yaml":       "apiVersion: v2\nname: web\nversion: 0.1.0\nkubeVersion: \">=1.25.0-0\"\n",
	"chart/values.yaml":      "replicas: 1\ncert: \"\"\nconfig: {}\n",
	"chart/values-prod.yaml": "replicas: 3\n",
	"chart/crds/widgets.yaml": `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
`,
	"chart/templates/caps.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: caps
  namespace: {{ .Release.Namespace }}
data:
  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}
  minor: {{ .Capabilities.KubeVersion.Minor | quote }}
  monitoring: {{ .Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor" | quote }}
  policy: {{ .Capabilities.APIVersions.Has "policy/v1" | quote }}
  replicas: {{ .Values.replicas | quote }}
  cert: {{ .Values.cert | quote }}
  nested: {{ .Values.config.script | default "" | quote }}
`,
	"chart/files/cert.pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
	"shared/script.sh":     "#!/bin/sh\necho hello, world\n",
}

// TestArgoHelmFieldsFidelity renders spec.source.helm fields with ferry
// and with the reference helm CLI given the flags Argo CD gives it.
func TestArgoHelmFieldsFidelity(t *testing.T) {
	helm := reftools.Path(t, "helm")
	cluster := &environment.Capabilities{KubeVersion: "v1.31.4+k3s1", APIVersions: []string{"monitoring.coreos.com/v1", "monitoring.coreos.com/v1/ServiceMonitor"}}
	tests := []struct {
		name    string
		helm    environment.HelmSource
		caps    *environment.Capabilities
		args    []string // after `helm template web <chart> --namespace web`
		wantErr bool
	}{
		{
			name: "kubeVersion and apiVersions",
			helm: environment.HelmSource{KubeVersion: "1.29", APIVersions: []string{"monitoring.coreos.com/v1/ServiceMonitor"}},
			args: []string{"--kube-version", "1.29.0", "--api-versions", "monitoring.coreos.com/v1/ServiceMonitor", "--include-crds"},
		},
		{
			name: "the destination cluster's capabilities",
			caps: cluster,
			args: []string{"--kube-version", "1.31.4", "--api-versions", "monitoring.coreos.com/v1", "--api-versions", "monitoring.coreos.com/v1/ServiceMonitor", "--include-crds"},
		},
		{
			name: "the Application's versions win over the cluster's",
			helm: environment.HelmSource{KubeVersion: "v1.30.2", APIVersions: []string{"example.com/v1"}},
			caps: cluster,
			args: []string{"--kube-version", "1.30.2", "--api-versions", "example.com/v1", "--include-crds"},
		},
		{
			name:    "a kubeVersion the chart refuses",
			helm:    environment.HelmSource{KubeVersion: "1.20.0"},
			args:    []string{"--kube-version", "1.20.0", "--include-crds"},
			wantErr: true,
		},
		{
			name: "skipCrds",
			helm: environment.HelmSource{SkipCrds: true},
			args: []string{"--kube-version", render.DefaultKubeVersion},
		},
		{
			name: "ignoreMissingValueFiles",
			helm: environment.HelmSource{ValueFiles: []string{"values-missing.yaml", "values-prod.yaml"}, IgnoreMissingValueFiles: true},
			args: []string{"--kube-version", render.DefaultKubeVersion, "--values", "values-prod.yaml", "--include-crds"},
		},
		{
			name:    "a missing value file",
			helm:    environment.HelmSource{ValueFiles: []string{"values-missing.yaml"}},
			args:    []string{"--kube-version", render.DefaultKubeVersion, "--values", "values-missing.yaml", "--include-crds"},
			wantErr: true,
		},
		{
			name: "fileParameters, relative and from the repository root",
			helm: environment.HelmSource{
				Parameters:     []environment.HelmParameter{{Name: "cert", Value: "overridden"}},
				FileParameters: []environment.HelmFileParameter{{Name: "cert", Path: "files/cert.pem"}, {Name: "config.script", Path: "/shared/script.sh"}},
			},
			args: []string{"--kube-version", render.DefaultKubeVersion, "--set", "cert=overridden", "--set-file", "cert=files/cert.pem", "--set-file", "config.script=../shared/script.sh", "--include-crds"},
		},
		{
			name:    "a missing file parameter",
			helm:    environment.HelmSource{FileParameters: []environment.HelmFileParameter{{Name: "cert", Path: "files/none.pem"}}},
			args:    []string{"--kube-version", render.DefaultKubeVersion, "--set-file", "cert=files/none.pem", "--include-crds"},
			wantErr: true,
		},
		{
			name: "namespace",
			helm: environment.HelmSource{Namespace: "other"},
			args: []string{"--kube-version", render.DefaultKubeVersion, "--namespace", "other", "--include-crds"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.helm
			env := environment.Environment{Name: "web", Path: "chart", Type: environment.Helm, Helm: &h, Capabilities: tt.caps,
				Destination: environment.Destination{Namespace: "web"}}
			ours, ourErr := render.Render(context.Background(), testrepo.Tree(t, argoHelmRepo), env, render.Options{})
			dir := filepath.Join(testrepo.Files(t, argoHelmRepo), "chart")
			cmd := exec.Command(helm, append([]string{"template", "web", ".", "--namespace", "web"}, tt.args...)...)
			cmd.Dir = dir // relative --values and --set-file paths are the chart's, as Argo CD resolves them
			ref, refErr := runReference(t, cmd)
			compareReference(t, ours, ourErr, ref, refErr, tt.wantErr)
		})
	}
}

// TestHelmFileParametersStayInTheRepository refuses a --set-file path that
// leaves the repository, as any value file.
func TestHelmFileParametersStayInTheRepository(t *testing.T) {
	for _, p := range []string{"../../etc/passwd", "/../etc/passwd"} {
		env := environment.Environment{Name: "web", Path: "chart", Type: environment.Helm,
			Helm: &environment.HelmSource{FileParameters: []environment.HelmFileParameter{{Name: "cert", Path: p}}}}
		_, err := render.Render(context.Background(), testrepo.Tree(t, argoHelmRepo), env, render.Options{})
		if err == nil {
			t.Errorf("fileParameters path %q: rendered, want an error", p)
		}
	}
}
