package environment

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ferry-gitops/ferry/internal/appset"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/project"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// maxScanSize bounds the files searched for Applications: Applications are
// small, and the multi-megabyte YAML in repositories is CRD bundles.
const maxScanSize = 1 << 20

// ferryConfigFile is the repository's ferry config; discovery does not read
// it (see DiscoverOptions.Config) but refuses to run as if it were absent.
const ferryConfigFile = ".ferry.yaml"

// Declarer supplies environments declared outside Argo CD Applications.
// *config.Config is one. The indirection keeps this package free of the
// config package, which builds on these types.
type Declarer interface {
	DeclaredEnvironments() []Environment
}

// DiscoverOptions tunes Discover.
type DiscoverOptions struct {
	// RepoURL is the repository being read. Applications whose repoURL names
	// another repository are listed as External. "" means every Application
	// points here.
	RepoURL string
	// Config supplies the .ferry.yaml environments, usually a *config.Config
	// from config.Load. Discover does not load it itself so the caller
	// chooses which revision's config applies. Nil declares nothing, and is
	// refused when the tree has a .ferry.yaml, so a forgotten Config cannot
	// silently drop environments.
	Config Declarer
	// Clusters are the clusters an ApplicationSet's clusters generator may
	// select: the server's configuration, or the CLI's --clusters file.
	Clusters []appset.Cluster
}

// Skipped is a file, or a definition in one, that discovery passed over.
type Skipped struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// Discovery is what Discover found.
type Discovery struct {
	// Environments are sorted by name; names are unique.
	Environments []Environment `json:"environments"`
	// Projects are the Argo CD AppProjects the tree defines, in path order.
	Projects []project.Project `json:"projects,omitempty"`
	// BrokenProjects are AppProjects that could not be read: an
	// environment of one must not deploy as if it were not there.
	BrokenProjects []BrokenProject `json:"brokenProjects,omitempty"`
	// UnrenderedParents are app-of-apps parents whose render failed: the
	// environments they define are unknown, not gone.
	UnrenderedParents []string  `json:"unrenderedParents,omitempty"`
	Skipped           []Skipped `json:"skipped,omitempty"`
}

// BrokenProject is an AppProject discovery could not read, and why.
type BrokenProject struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Discover lists the environments of a repository:
//
//  1. every Argo CD Application in a *.yaml or *.yml file (multi-document
//     files too), in path order;
//  2. then every environment opts.Config declares.
//
// A name defined twice keeps the first definition; the later one is Skipped.
// Only when these yield nothing are environments found by convention: every
// leaf Kustomize overlay and every top-level Helm chart, named by its path.
//
// Discovery does not fail on a file it cannot read or parse; that file is
// Skipped with the reason. The error return is for misuse only.
func Discover(tree *repofs.Tree, opts DiscoverOptions) (*Discovery, error) {
	if opts.Config == nil && tree.Exists(ferryConfigFile) {
		return nil, errors.New("discover environments: the repository has a .ferry.yaml but DiscoverOptions.Config is nil; load it with config.Load and pass it")
	}
	// Discovery reads most manifests of the repository: fetch them in one
	// batch. A failed prefetch only means files are read one by one.
	_ = tree.Prefetch(func(name string, size int64) bool {
		return size <= maxScanSize && (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || path.Base(name) == "Kustomization")
	})
	d := &Discovery{}
	defined := map[string]string{}
	add := func(env Environment) {
		if prev, ok := defined[env.Name]; ok {
			d.Skipped = append(d.Skipped, Skipped{
				File:   env.File,
				Reason: fmt.Sprintf("environment %q is already defined in %s", env.Name, prev),
			})
			return
		}
		defined[env.Name] = env.File
		d.Environments = append(d.Environments, env)
	}

	var candidates []string
	for _, file := range tree.Files() {
		if ext := path.Ext(file); ext == ".yaml" || ext == ".yml" {
			candidates = append(candidates, file)
		}
	}
	results := make([]scanned, len(candidates))
	forEach(len(candidates), func(i int) {
		results[i] = scanFile(tree, candidates[i], opts)
	})
	// In path order, whatever order the files were read in, so "the later
	// definition" is well defined.
	for _, r := range results {
		d.Skipped = append(d.Skipped, r.skipped...)
		d.Projects = append(d.Projects, r.projects...)
		d.BrokenProjects = append(d.BrokenProjects, r.broken...)
		for _, env := range r.envs {
			add(env)
		}
	}

	if opts.Config != nil {
		for _, env := range opts.Config.DeclaredEnvironments() {
			clean, err := repofs.Clean(env.Path)
			switch {
			case env.Name == "":
				d.Skipped = append(d.Skipped, Skipped{File: env.File, Reason: "environment without a name"})
				continue
			case invalidName(env.Name) != "":
				d.Skipped = append(d.Skipped, Skipped{File: env.File, Reason: fmt.Sprintf("line %d: environment %s", env.Line, invalidName(env.Name))})
				continue
			case err != nil:
				d.Skipped = append(d.Skipped, Skipped{File: env.File, Reason: fmt.Sprintf("environment %q: path: %v", env.Name, err)})
				continue
			}
			env.Path = clean
			if env.Type == "" {
				env.Type = detectType(tree, env.Path)
			}
			add(env)
		}
	}

	if len(d.Environments) == 0 {
		d.Environments = conventional(tree)
	}
	sort.SliceStable(d.Environments, func(i, j int) bool { return d.Environments[i].Name < d.Environments[j].Name })
	return d, nil
}

// detectType picks the tool Argo CD would for a path without an explicit
// one: Helm if there is a Chart.yaml, then Kustomize, else plain YAML.
func detectType(tree *repofs.Tree, dir string) SourceType {
	if p := path.Join(dir, "Chart.yaml"); tree.Exists(p) && !tree.IsDir(p) {
		return Helm
	}
	if KustomizationFile(tree, dir) != "" {
		return Kustomize
	}
	return Directory
}

// scanned is what one file defines.
type scanned struct {
	envs     []Environment
	projects []project.Project
	broken   []BrokenProject
	skipped  []Skipped
}

func (s *scanned) skip(file, format string, args ...any) {
	s.skipped = append(s.skipped, Skipped{File: file, Reason: fmt.Sprintf(format, args...)})
}

// scanFile returns the Applications and AppProjects defined in one file.
func scanFile(tree *repofs.Tree, file string, opts DiscoverOptions) (out scanned) {
	// A symlinked file is scanned under its own name, when inside the tree,
	// so it is not found twice.
	if real, err := tree.Resolve(file); err != nil || real != file {
		return out
	}
	size, err := tree.Size(file)
	if err != nil {
		out.skip(file, "unreadable: %v", err)
		return out
	}
	if size > maxScanSize {
		out.skip(file, "%d bytes is over %d; not searched for Applications", size, maxScanSize)
		return out
	}
	data, err := tree.ReadFile(file)
	if err != nil {
		out.skip(file, "unreadable: %v", err)
		return out
	}
	// Most YAML in a GitOps repository is not an Application; this keeps
	// discovery of large repositories from parsing all of it.
	if !bytes.Contains(data, []byte("argoproj.io")) {
		return out
	}
	scanDocs(tree, file, data, opts, &out)
	return out
}

// scanDocs reads the Argo CD documents of one file.
func scanDocs(tree *repofs.Tree, file string, data []byte, opts DiscoverOptions, out *scanned) {
	repoURL := opts.RepoURL
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	for {
		var doc yamlv3.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// Unparsable YAML that mentions Applications is most likely a
			// template (Helm's {{ }}): say so. Anything else only carried an
			// argoproj.io annotation and is not ours to report.
			if bytes.Contains(data, []byte("Application")) {
				out.skip(file, "not valid YAML, so any Application in it is not discovered (a template?): %v", manifest.YAMLError(file, nil, err))
			}
			return
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yamlv3.MappingNode {
			continue
		}
		root := doc.Content[0]
		apiVersion, kind := scalarField(root, "apiVersion"), scalarField(root, "kind")
		if !strings.HasPrefix(apiVersion, "argoproj.io/") {
			continue
		}
		switch kind {
		case "Application":
			env, reason := parseApplication(tree, file, root, repoURL)
			if reason != "" {
				out.skip(file, "line %d: %s", root.Line, reason)
				continue
			}
			out.envs = append(out.envs, env)
		case "AppProject":
			p, err := parseAppProject(file, root)
			if err != nil {
				out.skip(file, "line %d: %v", root.Line, err)
				// A project that can't be read narrows nothing: remember
				// it so its environments are refused rather than let loose.
				out.broken = append(out.broken, BrokenProject{Name: nestedScalar(root, "metadata", "name"),
					Reason: fmt.Sprintf("%s:%d: %v", file, root.Line, err)})
				continue
			}
			out.projects = append(out.projects, p)
		case "ApplicationSet":
			scanApplicationSet(tree, file, root, opts, out)
		}
	}
}

// parseAppProject reads one AppProject document.
func parseAppProject(file string, root *yamlv3.Node) (project.Project, error) {
	var doc map[string]any
	if err := root.Decode(&doc); err != nil {
		return project.Project{}, manifest.YAMLError(file, nil, err)
	}
	return project.FromManifest(manifest.New(doc, file), root.Line)
}

func scalarField(m *yamlv3.Node, key string) string {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yamlv3.ScalarNode {
			return m.Content[i+1].Value
		}
	}
	return ""
}

func nestedScalar(m *yamlv3.Node, outer, key string) string {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == outer && m.Content[i+1].Kind == yamlv3.MappingNode {
			return scalarField(m.Content[i+1], key)
		}
	}
	return ""
}

// invalidName says why name cannot be an Application's, as Argo CD and
// Kubernetes require (a DNS-1123 subdomain: lower-case letters, digits, "-"
// and ".", at most 253 characters), or "" when it can. Environment names go
// into tracking ids, labels, store keys, branch names and every comment,
// so a name that is not one is never discovered.
func invalidName(name string) string {
	if len(validation.IsDNS1123Subdomain(name)) == 0 {
		return ""
	}
	quoted := name
	if r := []rune(name); len(r) > maxNameQuote {
		quoted = string(r[:maxNameQuote]) + "…"
	}
	return fmt.Sprintf("name %q is not a valid Application name, so it is not discovered: "+
		"use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most %d characters (a DNS-1123 subdomain, as Argo CD requires)",
		quoted, validation.DNS1123SubdomainMaxLength)
}
