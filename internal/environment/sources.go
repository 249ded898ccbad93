package environment

import (
	"fmt"
	"strings"

	"github.com/ferry-gitops/ferry/internal/repofs"
)

// refSources are an Application's sources that only lend files to value
// files ("$values/…"): all of this repository, at one revision.
type refSources struct {
	names    []string
	repoURL  string
	revision string
}

// appSource picks the source ferry renders first: spec.source, or the
// first source of spec.sources that is rendered (not only a ref) and that
// ferry can render (this repository or a chart), else the first rendered
// one (the Application is then external). The other rendered sources are
// taken by addSources. The ref sources must be this repository (repoURL;
// "" accepts any) at one revision; what ferry cannot honour is a reason,
// as for any Application it skips.
func appSource(app *applicationDoc, repoURL string) (*sourceDoc, refSources, string) {
	name := app.Metadata.Name
	switch {
	case name == "":
		return nil, refSources{}, "Application without metadata.name"
	case app.Spec.Source != nil && len(app.Spec.Sources) > 0:
		return nil, refSources{}, fmt.Sprintf("Application %q sets both spec.source and spec.sources", name)
	case app.Spec.Source != nil:
		return app.Spec.Source, refSources{}, ""
	case len(app.Spec.Sources) == 0:
		return nil, refSources{}, fmt.Sprintf("Application %q has no spec.source", name)
	}
	var first, local *sourceDoc
	var refs refSources
	for i := range app.Spec.Sources {
		s := &app.Spec.Sources[i]
		if rendered(s) {
			if first == nil {
				first = s
			}
			if local == nil && renderable(s, repoURL) {
				local = s
			}
		}
		if s.Ref == "" {
			continue
		}
		if reason := refs.add(name, s, repoURL); reason != "" {
			return nil, refSources{}, reason
		}
	}
	switch {
	case local != nil:
		return local, refs, ""
	case first != nil:
		return first, refs, ""
	}
	return nil, refSources{}, fmt.Sprintf("Application %q renders no source (spec.sources has only ref sources)", name)
}

// rendered reports that a source of spec.sources gives objects, not only
// files for value files.
func rendered(s *sourceDoc) bool {
	return s.Ref == "" || s.Path != "" || s.Chart != ""
}

// renderable reports that ferry can render a source: a chart, or a path of
// this repository, with no plugin.
func renderable(s *sourceDoc, repoURL string) bool {
	if s.Plugin != nil {
		return false
	}
	return s.Chart != "" || repoURL == "" || s.RepoURL == "" || SameRepo(s.RepoURL, repoURL)
}

// addSources takes the rendered sources of spec.sources other than first,
// as Argo CD renders them all and concatenates their objects: those ferry
// can render join env.Sources, the others are listed in
// env.ExternalSources.
func (env *Environment) addSources(tree *repofs.Tree, app *applicationDoc, first *sourceDoc, refs refSources, repoURL string) string {
	for i := range app.Spec.Sources {
		s := &app.Spec.Sources[i]
		if s == first || !rendered(s) {
			continue
		}
		if !renderable(s, repoURL) {
			env.ExternalSources = append(env.ExternalSources, describeSource(s))
			continue
		}
		if s.Helm != nil && s.Kustomize != nil {
			return fmt.Sprintf("Application %q: spec.sources[%d] sets both helm and kustomize", env.Name, i)
		}
		part := Environment{Name: env.Name, RepoURL: s.RepoURL, TargetRevision: s.TargetRevision}
		if reason := part.setSource(s, refs); reason != "" {
			return strings.Replace(reason, "spec.source.", fmt.Sprintf("spec.sources[%d].", i), 1)
		}
		part, reason := sourcePath(tree, part, s, repoURL)
		if reason != "" {
			return strings.Replace(reason, "spec.source.", fmt.Sprintf("spec.sources[%d].", i), 1)
		}
		if part.Type != Helm {
			part.Helm = nil // setSource gives any source the refs; only charts read them
		}
		env.Sources = append(env.Sources, Source{
			Path: part.Path, Type: part.Type, RepoURL: part.RepoURL, TargetRevision: part.TargetRevision,
			Chart: part.Chart, Helm: part.Helm, Kustomize: part.Kustomize, Directory: part.Directory,
		})
	}
	if env.External && len(env.Sources) > 0 {
		// Cannot happen: a renderable source is picked first.
		return fmt.Sprintf("Application %q: internal error ordering spec.sources", env.Name)
	}
	return ""
}

// describeSource names a source ferry does not render, for listings.
func describeSource(s *sourceDoc) string {
	var out string
	switch {
	case s.Chart != "":
		out = fmt.Sprintf("%s (chart %s %s)", s.RepoURL, s.Chart, s.TargetRevision)
	case s.Path != "":
		out = fmt.Sprintf("%s (path %s)", s.RepoURL, s.Path)
	default:
		out = s.RepoURL
	}
	if s.Plugin != nil {
		out += " (config management plugin)"
	}
	return strings.TrimSpace(out)
}

// add takes one ref source.
func (r *refSources) add(app string, s *sourceDoc, repoURL string) string {
	switch {
	case strings.ContainsAny(s.Ref, "/$ ") || s.Ref == "":
		return fmt.Sprintf("Application %q: source ref %q is not a name", app, s.Ref)
	case repoURL != "" && !SameRepo(s.RepoURL, repoURL):
		return fmt.Sprintf("Application %q: value files from another repository (%s, ref %q) are not rendered; ferry reads value files from this repository only", app, s.RepoURL, s.Ref)
	case len(r.names) > 0 && s.TargetRevision != r.revision:
		return fmt.Sprintf("Application %q: ref sources at different revisions (%q, %q)", app, r.revision, s.TargetRevision)
	}
	r.names = append(r.names, s.Ref)
	r.repoURL, r.revision = s.RepoURL, s.TargetRevision
	return ""
}

// RefFile resolves a value file that starts with "$ref/" to the path of
// this repository's file it names. ok is false for any other value file;
// an unknown ref or a path leaving the repository is an error.
func (h *HelmSource) RefFile(valueFile string) (path string, ok bool, err error) {
	if !strings.HasPrefix(valueFile, "$") {
		return "", false, nil
	}
	ref, rest, _ := strings.Cut(valueFile[1:], "/")
	known := false
	if h != nil {
		for _, r := range h.Refs {
			known = known || r == ref
		}
	}
	if !known {
		return "", true, fmt.Errorf("value file %q names $%s, which is no ref source of this Application", valueFile, ref)
	}
	p, err := repofs.Clean(rest)
	if err != nil {
		return "", true, fmt.Errorf("value file %q: %w", valueFile, err)
	}
	return p, true, nil
}
