package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/resid"

	"github.com/ferry-gitops/ferry/internal/environment"
)

// addArgoMetadata is `kustomize edit add label` (with --force,
// --without-selector and --include-templates as Argo CD passes them) and
// `kustomize edit add annotation` (with --force).
func addArgoMetadata(k *types.Kustomization, o *environment.KustomizeSource, vars map[string]string) error {
	if len(o.CommonLabels) > 0 {
		labels := map[string]string{}
		for key, v := range o.CommonLabels {
			labels[key] = envsubst(v, vars)
		}
		if err := addLabels(k, labels, o); err != nil {
			return fmt.Errorf("commonLabels: %w", err)
		}
	}
	if len(o.CommonAnnotations) > 0 {
		annotations := o.CommonAnnotations
		if o.CommonAnnotationsEnvsubst {
			annotations = map[string]string{}
			for key, v := range o.CommonAnnotations {
				annotations[key] = envsubst(v, vars)
			}
		}
		out := maps.Clone(k.CommonAnnotations)
		if out == nil {
			out = map[string]string{}
		}
		if err := addPairs(out, annotations, o.ForceCommonAnnotations, "annotation"); err != nil {
			return fmt.Errorf("commonAnnotations: %w", err)
		}
		k.CommonAnnotations = out
	}
	return nil
}

// addLabels adds to commonLabels, or with labelWithoutSelector to the first
// `labels` entry that includes no selectors (and templates as asked),
// appending one when there is none.
func addLabels(k *types.Kustomization, labels map[string]string, o *environment.KustomizeSource) error {
	if !o.LabelWithoutSelector {
		if o.LabelIncludeTemplates {
			return fmt.Errorf("--without-selector flag must be specified for --include-templates to work")
		}
		out := maps.Clone(k.CommonLabels)
		if out == nil {
			out = map[string]string{}
		}
		if err := addPairs(out, labels, o.ForceCommonLabels, "label"); err != nil {
			return err
		}
		k.CommonLabels = out
		return nil
	}
	k.Labels = slices.Clone(k.Labels)
	for i, l := range k.Labels {
		if !l.IncludeSelectors && l.IncludeTemplates == o.LabelIncludeTemplates {
			pairs := maps.Clone(l.Pairs)
			if pairs == nil {
				pairs = map[string]string{}
			}
			if err := addPairs(pairs, labels, o.ForceCommonLabels, "label"); err != nil {
				return err
			}
			k.Labels[i].Pairs = pairs
			return nil
		}
	}
	k.Labels = append(k.Labels, types.Label{Pairs: maps.Clone(labels), IncludeTemplates: o.LabelIncludeTemplates})
	return nil
}

// addPairs writes add into m; an existing key fails without force, with
// kustomize's message.
func addPairs(m, add map[string]string, force bool, kind string) error {
	for _, key := range slices.Sorted(maps.Keys(add)) {
		if _, ok := m[key]; ok && !force {
			return fmt.Errorf("%s %s already in kustomization file. Use --force to override.", kind, key)
		}
		m[key] = add[key]
	}
	return nil
}

// argoPatch is one spec.source.kustomize.patches entry as kustomize's type
// (its options as kustomize decodes them from the kustomization Argo CD
// writes: unknown ones refused).
func argoPatch(p environment.KustomizePatch) (types.Patch, error) {
	out := types.Patch{Path: p.Path, Patch: p.Patch}
	if p.Options != nil {
		b, err := json.Marshal(p.Options)
		if err != nil {
			return out, err
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		out.Options = &types.PatchArgs{}
		if err := dec.Decode(out.Options); err != nil {
			return out, fmt.Errorf("patch options: %w", err)
		}
	}
	if t := p.Target; t != nil {
		out.Target = &types.Selector{
			ResId: resid.ResId{
				Gvk:       resid.Gvk{Group: t.Group, Version: t.Version, Kind: t.Kind},
				Name:      t.Name,
				Namespace: t.Namespace,
			},
			LabelSelector:      t.LabelSelector,
			AnnotationSelector: t.AnnotationSelector,
		}
	}
	return out, nil
}

// envsubst is Argo CD's Env.Envsubst: $VAR and ${VAR} become the build
// environment's value ("" when unset) and $$ a single $.
func envsubst(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	return os.Expand(s, func(name string) string {
		if name == "$" {
			return "$"
		}
		return vars[name]
	})
}

// argoBuildEnv is Argo CD's build environment (its newEnv): the
// Application's name, destination namespace, project, source and the
// commit rendered (unknown, so empty, for a working tree or a tree opened
// by a name rather than a commit).
func (j *job) argoBuildEnv() map[string]string {
	env := j.env
	vars := map[string]string{
		"ARGOCD_APP_NAME":                   env.Name,
		"ARGOCD_APP_NAMESPACE":              env.Destination.Namespace,
		"ARGOCD_APP_PROJECT_NAME":           env.Project,
		"ARGOCD_APP_SOURCE_PATH":            env.Path,
		"ARGOCD_APP_SOURCE_REPO_URL":        env.RepoURL,
		"ARGOCD_APP_SOURCE_TARGET_REVISION": env.TargetRevision,
	}
	if rev := j.tree.Revision; len(rev) == 40 {
		vars["ARGOCD_APP_REVISION"] = rev
		vars["ARGOCD_APP_REVISION_SHORT"] = rev[:7]
		vars["ARGOCD_APP_REVISION_SHORT_8"] = rev[:8]
	}
	return vars
}

// kustomizeComponents is `kustomize edit add component`'s expansion of its
// arguments, relative to the kustomization directory dir: each a path or a
// glob of this repository; one that matches nothing fails, or is dropped
// with ignoreMissing (ignoreMissingComponents).
func (j *job) kustomizeComponents(dir string) func([]string, bool) ([]string, error) {
	return func(patterns []string, ignoreMissing bool) ([]string, error) {
		var out []string
		for _, p := range patterns {
			found := j.globRel(dir, p)
			if len(found) == 0 && !ignoreMissing {
				return nil, fmt.Errorf("component %s has no match in the repository", p)
			}
			out = append(out, found...)
		}
		if len(out) == 0 {
			// Argo CD runs `kustomize edit add component` with what it
			// found, and kustomize refuses no arguments.
			return nil, errors.New("must specify a component file (no component of spec.source.kustomize.components exists)")
		}
		return out, nil
	}
}

// globRel matches pattern (relative to dir, path.Match syntax per
// segment) against the tree, like filepath.Glob run in dir: matches keep
// the pattern's form ("../c/x"). Paths leaving the repository match nothing.
func (j *job) globRel(dir, pattern string) []string {
	if path.IsAbs(pattern) {
		return nil // outside the repository
	}
	type cand struct{ rel, repo string }
	cands := []cand{{rel: "", repo: dir}}
	segs := strings.Split(path.Clean(pattern), "/")
	for _, seg := range segs {
		var next []cand
		for _, c := range cands {
			if !strings.ContainsAny(seg, "*?[\\") || seg == "." || seg == ".." {
				next = append(next, cand{rel: path.Join(c.rel, seg), repo: path.Join(c.repo, seg)})
				continue
			}
			names, err := j.r.readDir(c.repo)
			if err != nil {
				continue
			}
			for _, n := range names {
				if ok, _ := path.Match(seg, n); ok { // as filepath.Glob: dotfiles too
					next = append(next, cand{rel: path.Join(c.rel, n), repo: path.Join(c.repo, n)})
				}
			}
		}
		cands = next
	}
	var out []string
	for _, c := range cands {
		if strings.HasPrefix(c.repo, "../") || c.repo == ".." || path.IsAbs(c.repo) {
			continue
		}
		if !j.r.exists(c.repo) {
			continue
		}
		if !strings.ContainsAny(pattern, "*?[\\") {
			out = append(out, pattern) // filepath.Glob returns a literal as given
			continue
		}
		out = append(out, c.rel)
	}
	return out
}
