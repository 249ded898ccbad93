// Package config reads a repository's .ferry.yaml: environments declared
// besides Argo CD Applications, and how diffs are judged.
//
// Decoding is strict: an unknown or misspelt field is an error naming the
// field and its line, because a typo that silently disables a setting is
// worse than a failed check. Callers judging a pull request load the config
// from the base revision, never from the head.
//
// Adding a section is adding a field with a json tag to Config (and, if it
// needs more than type checks, a case in Config.validate); the strict decoder
// works from the Go types by reflection.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/strictyaml"
)

// *Config supplies environment.Discover with the declared environments.
var _ environment.Declarer = (*Config)(nil)

// FileName is where the config lives, at the repository root.
const FileName = ".ferry.yaml"

// maxSize bounds the config file; a real one is a few kilobytes.
const maxSize = 1 << 20

// Config is the whole of .ferry.yaml. The zero value is the config of a
// repository without one.
type Config struct {
	Environments []EnvironmentConfig `json:"environments,omitempty"`
	Diff         DiffConfig          `json:"diff"`
	// Policy and Secrets tune the merge policy and the secret scanner; see policy.go.
	Policy  PolicyConfig  `json:"policy"`
	Secrets SecretsConfig `json:"secrets"`
	// Sync tunes syncs on merge; see sync.go.
	Sync SyncConfig `json:"sync"`
}

// EnvironmentConfig declares one environment that no Argo CD Application
// describes. Source options use the same shapes as an Application's.
type EnvironmentConfig struct {
	Name string `json:"name"`
	// Path is the source directory, relative to the repository root.
	Path      string `json:"path"`
	Namespace string `json:"namespace,omitempty"`
	// Cluster is an Argo CD cluster name, or an API server URL when it
	// starts with https:// or http://.
	Cluster string `json:"cluster,omitempty"`
	// Project is the Argo CD project bounding the environment ("default"
	// when empty).
	Project    string                       `json:"project,omitempty"`
	Helm       *environment.HelmSource      `json:"helm,omitempty"`
	Kustomize  *environment.KustomizeSource `json:"kustomize,omitempty"`
	SyncPolicy *environment.SyncPolicy      `json:"syncPolicy,omitempty"`
	// IgnoreDifferences is an Application's spec.ignoreDifferences.
	IgnoreDifferences []environment.IgnoreDifference `json:"ignoreDifferences,omitempty"`

	// Line is where the entry starts in .ferry.yaml, for messages.
	Line int `json:"-"`
}

// DiffConfig lists metadata that changes on every render without meaning
// anything (Helm's chart label, checksum annotations), left out of diffs.
type DiffConfig struct {
	// IgnoreLabels and IgnoreAnnotations are keys or patterns in which "*"
	// matches any run of characters, "/" included: "checksum/*" (see
	// diff.MatchKey, which the diffs use).
	IgnoreLabels      []string `json:"ignoreLabels,omitempty"`
	IgnoreAnnotations []string `json:"ignoreAnnotations,omitempty"`
}

// Load reads .ferry.yaml from the root of tree. A repository without one
// gets the zero Config.
func Load(tree *repofs.Tree) (*Config, error) {
	data, err := tree.ReadFile(FileName)
	if errors.Is(err, fs.ErrNotExist) {
		// A config under the other extension would otherwise be ignored
		// without a word, and with it every setting the author meant.
		if tree.Exists(".ferry.yml") {
			return nil, fmt.Errorf(".ferry.yml: ferry reads %s; rename the file", FileName)
		}
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", FileName, err)
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("read %s: %d bytes is over the %d byte limit", FileName, len(data), maxSize)
	}
	return Parse(data)
}

// Parse decodes the content of a .ferry.yaml. Errors are *manifest.ParseError
// naming .ferry.yaml and the line.
func Parse(data []byte) (*Config, error) {
	var cfg Config
	if err := strictyaml.Decode(data, FileName, &cfg); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func (c *Config) validate() error {
	for i := range c.Environments {
		e := &c.Environments[i]
		fail := func(format string, args ...any) error {
			return &manifest.ParseError{File: FileName, Line: e.Line, Err: fmt.Errorf("environments[%d]: "+format, append([]any{i}, args...)...)}
		}
		switch {
		case e.Name == "":
			return fail("name is required")
		case e.Path == "":
			return fail("path is required (use \".\" for the repository root)")
		case e.Helm != nil && e.Kustomize != nil:
			return fail("helm and kustomize are exclusive")
		}
		clean, err := repofs.Clean(e.Path)
		if err != nil {
			return fail("path: %w", err)
		}
		for j, d := range e.IgnoreDifferences {
			if err := d.Validate(); err != nil {
				return fail("ignoreDifferences[%d]: %w", j, err)
			}
		}
		e.Path = clean
	}
	for _, p := range append(append([]string(nil), c.Diff.IgnoreLabels...), c.Diff.IgnoreAnnotations...) {
		if strings.TrimSpace(p) == "" {
			return &manifest.ParseError{File: FileName, Err: errors.New("diff: empty ignore pattern")}
		}
	}
	if err := c.Policy.validate(); err != nil {
		return err
	}
	if err := c.Sync.validate(); err != nil {
		return err
	}
	return c.Secrets.validate()
}

// DeclaredEnvironments turns the environments section into Environments;
// the source type is left for discovery to detect when no helm or kustomize
// block says it. A nil Config declares nothing.
func (c *Config) DeclaredEnvironments() []environment.Environment {
	if c == nil {
		return nil
	}
	out := make([]environment.Environment, 0, len(c.Environments))
	for _, e := range c.Environments {
		env := environment.Environment{
			Name:        e.Name,
			Origin:      environment.FromFerryConfig,
			File:        FileName,
			Line:        e.Line,
			Path:        e.Path,
			Destination: environment.Destination{Namespace: e.Namespace},
			Project:     e.Project,
			Helm:        e.Helm,
			Kustomize:   e.Kustomize,
			SyncPolicy:  e.SyncPolicy,

			IgnoreDifferences: e.IgnoreDifferences,
		}
		if strings.HasPrefix(e.Cluster, "https://") || strings.HasPrefix(e.Cluster, "http://") {
			env.Destination.Server = e.Cluster
		} else {
			env.Destination.Name = e.Cluster
		}
		switch {
		case e.Helm != nil:
			env.Type = environment.Helm
		case e.Kustomize != nil:
			env.Type = environment.Kustomize
		}
		out = append(out, env)
	}
	return out
}
