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

// appSource picks the source ferry renders: spec.source, or the one source
// of spec.sources that is not only a ref. The ref sources must be this
// repository (repoURL; "" accepts any) at one revision; what ferry cannot
// honour is a reason, as for any Application it skips.
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
	var rendered []*sourceDoc
	var refs refSources
	for i := range app.Spec.Sources {
		s := &app.Spec.Sources[i]
		if s.Ref == "" || s.Path != "" || s.Chart != "" {
			rendered = append(rendered, s)
		}
		if s.Ref == "" {
			continue
		}
		if reason := refs.add(name, s, repoURL); reason != "" {
			return nil, refSources{}, reason
		}
	}
	if len(rendered) != 1 {
		return nil, refSources{}, fmt.Sprintf("Application %q renders %d sources (spec.sources); ferry renders one source per Application, with ref sources for value files", name, len(rendered))
	}
	return rendered[0], refs, ""
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
