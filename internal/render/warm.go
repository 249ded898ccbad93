package render

import (
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/engine"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Warm does once what the first render of a process would: kustomize loads
// its OpenAPI schema and Helm its template functions. A render worker calls
// it before it takes requests, so no pull request waits for it.
func Warm() {
	fs := filesys.MakeFsInMemory()
	_ = fs.WriteFile("/warm/kustomization.yaml", []byte(warmKustomization))
	_ = fs.WriteFile("/warm/deployment.yaml", []byte(warmDeployment))
	_, _ = krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/warm")
	ch := &chart.Chart{
		Metadata:  &chart.Metadata{APIVersion: "v2", Name: "warm", Version: "0.1.0"},
		Templates: []*chart.File{{Name: "templates/cm.yaml", Data: []byte("a: {{ .Values.a | default \"b\" | quote }}\n")}},
	}
	_, _ = engine.Render(ch, map[string]any{"Values": map[string]any{}, "Release": map[string]any{"Name": "warm"}})
}

const warmKustomization = `resources:
- deployment.yaml
namePrefix: warm-
patches:
- patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      replicas: 2
`

const warmDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx
`
