package testrepo

import (
	"fmt"
	"os"
	"path/filepath"
)

// GeneratedBases is how many bases GenerateOverlays shares between overlays.
const GeneratedBases = 4

// GenerateOverlays writes a synthetic Kustomize repository into dir: n
// overlays, overlays/env-000 … (zero-padded to three digits, more when n
// needs it), each building on one of GeneratedBases bases
// (bases/service-0 …) with its own namespace, image tag, replica count and
// a JSON 6902 patch file. Every overlay is a leaf and renders with
// kustomize; there are no Applications, so discovery falls back to
// convention. The output is the same for the same n.
func GenerateOverlays(dir string, n int) error {
	for b := 0; b < GeneratedBases; b++ {
		svc := fmt.Sprintf("service-%d", b)
		for name, template := range baseFiles {
			if err := writeGenerated(dir, "bases/"+svc+"/"+name, fmt.Sprintf(template, svc)); err != nil {
				return err
			}
		}
	}
	width := max(len(fmt.Sprint(n-1)), 3)
	for i := 0; i < n; i++ {
		env := fmt.Sprintf("env-%0*d", width, i)
		svc := fmt.Sprintf("service-%d", i%GeneratedBases)
		overlay := "overlays/" + env + "/"
		if err := writeGenerated(dir, overlay+"kustomization.yaml", fmt.Sprintf(overlayKustomization, env, svc, 1+i%5, i)); err != nil {
			return err
		}
		if err := writeGenerated(dir, overlay+"configmap-patch.yaml", fmt.Sprintf(overlayPatch, env)); err != nil {
			return err
		}
	}
	return nil
}

// writeGenerated writes one generated file, slash-separated name, under dir.
func writeGenerated(dir, name, content string) error {
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("generate overlays: %w", err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		return fmt.Errorf("generate overlays: %w", err)
	}
	return nil
}

// baseFiles are the files of a generated base, templates of its service
// name (%[1]s).
var baseFiles = map[string]string{
	"kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
  - service.yaml
  - configmap.yaml
labels:
  - pairs:
      app: %[1]s
    includeSelectors: true
`,
	"deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: 1
  selector:
    matchLabels:
      app: %[1]s
  template:
    metadata:
      labels:
        app: %[1]s
    spec:
      containers:
        - name: %[1]s
          image: registry.example.com/%[1]s:v1.0.0
          ports:
            - containerPort: 8080
          envFrom:
            - configMapRef:
                name: %[1]s-config
`,
	"service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  selector:
    app: %[1]s
  ports:
    - port: 80
      targetPort: 8080
`,
	"configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: %[1]s-config
data:
  environment: default
  log_level: info
`,
}

// overlayKustomization is a generated overlay's kustomization.yaml: its
// namespace (%[1]s), base (%[2]s), replica count and image minor version.
const overlayKustomization = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: %[1]s
resources:
  - ../../bases/%[2]s
replicas:
  - name: %[2]s
    count: %[3]d
images:
  - name: registry.example.com/%[2]s
    newTag: v1.%[4]d.0
patches:
  - path: configmap-patch.yaml
    target:
      kind: ConfigMap
      name: %[2]s-config
`

// overlayPatch is a generated overlay's JSON 6902 patch, naming its
// environment.
const overlayPatch = `- op: replace
  path: /data/environment
  value: %s
`
