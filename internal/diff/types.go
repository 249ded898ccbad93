package diff

import "github.com/ferry-gitops/ferry/internal/manifest"

// ChangeType classifies one resource between two renders.
type ChangeType string

const (
	Added     ChangeType = "added"
	Removed   ChangeType = "removed"
	Changed   ChangeType = "changed"
	Unchanged ChangeType = "unchanged"
)

// Change is what happened to one resource.
type Change struct {
	manifest.Key
	Change ChangeType `json:"change"`
	// Diff is a unified diff of the normalized YAML (3 lines of context), with
	// Secret values replaced before diffing so no value can leak into it.
	Diff string `json:"diff,omitempty"`
	// SecretKeys lists which Secret data keys changed, for kind Secret only.
	SecretKeys *SecretKeys `json:"secretKeys,omitempty"`
	// Source is the file the head (or base, when removed) object came from.
	Source string `json:"source,omitempty"`
	// Hook marks a sync hook, by the phases it runs in ("PreSync",
	// "PreSync, PostSync"; "Skip" for an object never applied, "not run"
	// for a hook of no phase Argo CD runs): see package synchook. Hooks run
	// at sync and are not kept as resources, so a preview lists them apart.
	Hook string `json:"hook,omitempty"`
}

// SecretKeys names the data/stringData keys of a Secret that changed; never values.
type SecretKeys struct {
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
	Changed []string `json:"changed,omitempty"`
}
