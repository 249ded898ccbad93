package job

import (
	"bytes"
	"fmt"

	yamlv3 "go.yaml.in/yaml/v3"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/policy"
	"github.com/ferry-gitops/ferry/internal/project"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/work"
)

// Projects bound what each repository may deploy: the server's projects,
// which a repository's AppProjects on its default branch can only narrow,
// and the names of the clusters they speak of.
type Projects struct {
	// Catalog is the server's projects; nil is the built-in default only.
	Catalog *project.Catalog
	// Cluster names a destination's cluster by both its name and its
	// server (serverconfig.Config.Cluster); nil takes the destination as
	// given.
	Cluster func(environment.Destination) project.Cluster
}

// bound is one environment under its project: what it may touch, where.
// err is why the environment may deploy nowhere at all (its project is
// unknown, not granted to the repository, or can't be read).
type bound struct {
	env     environment.Environment
	project project.Effective
	cluster project.Cluster
	err     error
}

// bind puts env, as the default branch defines it (found), under its
// project.
func (p Projects) bind(repo work.Repo, found *environment.Discovery, env environment.Environment) bound {
	b := bound{env: env, cluster: p.clusterOf(env.Destination)}
	name := env.Project
	if name == "" {
		name = project.DefaultName
	}
	var narrowing []project.Project
	if found != nil {
		for _, broken := range found.BrokenProjects {
			if broken.Name == name {
				b.err = fmt.Errorf("project %q on the default branch can't be read (%s): nothing deploys in it until it is fixed", name, broken.Reason)
				return b
			}
		}
		narrowing = found.Projects
	}
	catalog := p.Catalog
	if catalog == nil {
		var err error
		if catalog, err = project.NewCatalog(nil, ""); err != nil {
			b.err = err
			return b
		}
	}
	b.project, b.err = catalog.For(repo.FullName, name, narrowing)
	return b
}

func (p Projects) clusterOf(dest environment.Destination) project.Cluster {
	if p.Cluster != nil {
		return p.Cluster(dest)
	}
	return project.Cluster{Name: dest.Name, Server: dest.Server}
}

// admits checks the environment itself: its project, its source
// repository and its destination.
func (b bound) admits(repo work.Repo) error {
	if b.err != nil {
		return b.err
	}
	urls := []string{repo.HTMLURL, repo.CloneURL}
	switch {
	case b.env.External:
		// Another repository's source: that is the one to permit.
		urls = []string{b.env.RepoURL}
	case b.env.RepoURL != "":
		urls = append(urls, b.env.RepoURL)
	}
	if err := b.project.PermitsSource(urls...); err != nil {
		return err
	}
	for _, v := range b.env.Views() { // every source of a multi-source Application
		if c := v.Chart; c != nil {
			// A chart from a Helm repository is a source of its own, as in Argo CD.
			if err := b.project.PermitsSource(c.RepoURL); err != nil {
				return err
			}
		}
	}
	return b.project.PermitsDestination(b.cluster, b.env.Destination.Namespace)
}

// permit is the syncer's question about one object: may the environment
// touch it? (A syncer.Permit.)
func (b bound) permit(k manifest.Key, namespaced bool) error {
	if b.err != nil {
		return b.err
	}
	return b.project.Permits(b.cluster, k, namespaced)
}

// violations are what keeps a previewed environment, as the pull request
// would leave it, from syncing: its project refuses it, or objects of its
// render. Each names the file and line to fix.
func (b bound) violations(repo work.Repo, tree *repofs.Tree, head []manifest.Object) []policy.ProjectViolation {
	if err := b.admits(repo); err != nil {
		return []policy.ProjectViolation{{File: b.env.File, Line: max(b.env.Line, 1), Reason: err.Error()}}
	}
	scope := project.WithCRDs(head, project.BuiltinScope)
	var out []policy.ProjectViolation
	for _, v := range b.project.Objects(b.cluster, b.env.Destination.Namespace, head, scope) {
		out = append(out, policy.ProjectViolation{Resource: v.Key.String(), File: v.Source, Line: locate(tree, v.Source, v.Key), Reason: v.Reason})
	}
	return out
}

// maxLocateSize bounds the file searched for an object's line.
const maxLocateSize = 1 << 20

// locate is the line in file where the document defining k starts: the
// one of k's kind and name, else the first of its kind (a name prefix or
// suffix may have renamed it), else 1.
func locate(tree *repofs.Tree, file string, k manifest.Key) int {
	if file == "" {
		return 1
	}
	if size, err := tree.Size(file); err != nil || size > maxLocateSize {
		return 1
	}
	data, err := tree.ReadFile(file)
	if err != nil {
		return 1
	}
	first := 0
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	for {
		var doc yamlv3.Node
		if err := dec.Decode(&doc); err != nil {
			break
		}
		if len(doc.Content) == 0 {
			continue
		}
		var head struct {
			Kind     string `yaml:"kind"`
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		}
		root := doc.Content[0]
		if root.Decode(&head) != nil || head.Kind != k.Kind {
			continue
		}
		if head.Metadata.Name == k.Name {
			return root.Line
		}
		if first == 0 {
			first = root.Line
		}
	}
	return max(first, 1)
}
