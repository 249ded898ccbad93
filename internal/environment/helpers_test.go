package environment_test

import (
	"encoding/json"

	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// symlinkPrefix marks a tree entry as a symlink to the rest of the value.
const symlinkPrefix = testrepo.SymlinkPrefix

// merge returns the union of file maps, later ones winning.
func merge(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

const kustomizationHeader = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"

// sharedBase is a base with two overlays, in the article's layout.
func sharedBase() map[string]string {
	return map[string]string{
		"base/kustomization.yaml": kustomizationHeader + "resources:\n  - deployment.yaml\n  - service.yaml\n",
		"base/deployment.yaml":    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n",
		"base/service.yaml":       "apiVersion: v1\nkind: Service\nmetadata:\n  name: app\n",
		"base/NOTES.md":           "not part of any build\n",
		"envs/prod-eu/kustomization.yaml": kustomizationHeader + `resources:
  - ../../base
patches:
  - path: replicas.yaml
configMapGenerator:
  - name: settings
    files:
      - app.properties
      - extra=config/extra.properties
    envs:
      - settings.env
`,
		"envs/prod-eu/replicas.yaml":           "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  replicas: 3\n",
		"envs/prod-eu/app.properties":          "a=1\n",
		"envs/prod-eu/config/extra.properties": "b=2\n",
		"envs/prod-eu/settings.env":            "C=3\n",
		"envs/prod-eu/README.md":               "not read by the build\n",
		"envs/staging/kustomization.yaml":      kustomizationHeader + "bases:\n  - ../../base\nnamePrefix: staging-\n",
	}
}

// sprintValue prints a value with its pointers followed, for failure messages.
func sprintValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
