package environment

import (
	"fmt"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"

	"github.com/ferry-gitops/ferry/internal/appset"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// RenderedDefinitions reads an Argo CD object that an environment's render
// produced (app-of-apps): an Application, or an ApplicationSet whose
// generated Applications are read in turn. Each definition goes through
// the checks a Git Application does. file is where the object came from
// (the template or manifest, else the parent's file), for the environments'
// File; reasons a definition cannot be used come back as Skipped entries
// for the caller to attribute. Other kinds yield nothing.
func RenderedDefinitions(tree *repofs.Tree, file string, obj map[string]any, opts DiscoverOptions) ([]Environment, []string) {
	var root yamlv3.Node
	if err := root.Encode(obj); err != nil || root.Kind != yamlv3.MappingNode {
		return nil, []string{fmt.Sprintf("rendered %s %q is not a YAML mapping: %v", scalarField(&root, "kind"), nestedScalar(&root, "metadata", "name"), err)}
	}
	switch scalarField(&root, "kind") {
	case "Application":
		env, reason := renderedApplication(tree, file, &root, opts.RepoURL)
		if reason != "" {
			return nil, []string{reason}
		}
		return []Environment{env}, nil
	case "ApplicationSet":
		return renderedAppSet(tree, file, &root, opts)
	}
	return nil, nil
}

// renderedApplication is parseApplication for an object with no source
// lines of its own.
func renderedApplication(tree *repofs.Tree, file string, root *yamlv3.Node, repoURL string) (Environment, string) {
	env, reason := parseApplication(tree, file, root, repoURL)
	env.Line = 0
	return env, reason
}

// renderedAppSet expands a rendered ApplicationSet against tree, as a Git
// one is expanded.
func renderedAppSet(tree *repofs.Tree, file string, root *yamlv3.Node, opts DiscoverOptions) ([]Environment, []string) {
	x, err := appset.Expand(tree, file, root, appset.Options{RepoURL: opts.RepoURL, Clusters: opts.Clusters, SameRepo: SameRepo})
	if err != nil {
		// A rendered object has no line of its own: name the file alone.
		return nil, []string{strings.Replace(err.Error(), file+":0: ", file+": ", 1)}
	}
	var envs []Environment
	reasons := append([]string(nil), x.Skipped...)
	for _, g := range x.Applications {
		env, reason := renderedApplication(tree, file, g.Node, opts.RepoURL)
		if reason != "" {
			reasons = append(reasons, fmt.Sprintf("ApplicationSet %q, %s: %s", x.Name, g.From, reason))
			continue
		}
		env.Origin = FromApplicationSet
		envs = append(envs, env)
	}
	return envs, reasons
}
