package project

import (
	"encoding/json"
	"fmt"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// FromManifest reads an Argo CD AppProject, defined at line of
// obj.Source. Roles, signature keys and the like are Argo CD's alone and
// ignored.
func FromManifest(obj manifest.Object, line int) (Project, error) {
	p := Project{Name: obj.Key.Name, Source: obj.Source}
	if line > 0 {
		p.Source = fmt.Sprintf("%s:%d", obj.Source, line)
	}
	if obj.Key.Kind != "AppProject" {
		return p, fmt.Errorf("%s: %s is not an AppProject", p.Source, obj.Key.Kind)
	}
	// The spec is a project's rules under Argo CD's names; what only the
	// server may say (which repositories use the project) is dropped.
	raw, err := json.Marshal(obj.Object["spec"])
	if err == nil {
		err = json.Unmarshal(raw, &p)
	}
	if err != nil {
		return p, fmt.Errorf("%s: AppProject %q: spec: %w", p.Source, p.Name, err)
	}
	p.Name, p.Repos = obj.Key.Name, nil
	return p, p.Validate()
}
