package render

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/ferry-gitops/ferry/internal/kustomization"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// kustomizeSchema guards kyaml's OpenAPI schema, which is process-wide state
// inside kustomize: a kustomization with an `openapi:` field replaces it for
// every build in the process. Builds that use the default schema share the
// lock; a build that sets its own takes it alone, starts from a clean schema
// and restores the default afterwards. It is package state because the thing it guards is.
var kustomizeSchema sync.RWMutex

// kustomize renders a Kustomize overlay like `kustomize build` (v5), after
// applying the environment's Argo CD overrides like `kustomize edit` would.
func (j *job) kustomize() (objs []manifest.Object, err error) {
	defer j.r.closeMounts()
	defer func() {
		if err != nil {
			err = j.remoteErr(err)
		}
	}()
	dir, err := j.sourceDir()
	if err != nil {
		return nil, err
	}
	// kustomize resolves relative paths from where a directory really is.
	dir, err = j.r.resolve(dir)
	if err != nil {
		return nil, &Error{File: j.env.File, Err: err}
	}
	refs := newKustRefs(j)
	root, err := refs.visit(dir, false, 0)
	if err != nil {
		return nil, err
	}

	override, keepOrigin, err := j.kustomizeOverride(root, refs.rewrites[root.Path])
	if err != nil {
		return nil, err
	}
	j.r.override(root.Path, override)
	if err := refs.overrideRewritten(root.Path); err != nil {
		return nil, err
	}

	if refs.openAPI {
		kustomizeSchema.Lock()
		// Start from a fresh process's state: kyaml keeps the definitions it
		// parsed for earlier builds, which a custom schema must not inherit.
		openapi.ResetOpenAPI()
		defer func() {
			openapi.ResetOpenAPI()
			kustomizeSchema.Unlock()
		}()
	} else {
		kustomizeSchema.RLock()
		defer kustomizeSchema.RUnlock()
	}

	opts := &krusty.Options{
		// What `kustomize build` (and Argo CD by default) does without
		// flags: a kustomization may pull in other kustomization roots such as
		// ../../base, but not loose files outside its own directory. Matching
		// it means a preview never passes where the sync would fail; kustFS
		// keeps every read inside the repository on top of that.
		Reorder:          krusty.ReorderOptionUnspecified,
		LoadRestrictions: types.LoadRestrictionsRootOnly,
		PluginConfig:     types.DisabledPluginConfig(),
	}
	m, err := krusty.MakeKustomizer(opts).Run(kustFS{r: j.r}, kustAbs(dir))
	if err != nil {
		return nil, j.kustomizeError(err, root)
	}
	return j.kustomizeObjects(m, dir, root.Path, keepOrigin)
}

// kustomizeObjects turns kustomize's output into objects attributed to the
// repository files they come from.
func (j *job) kustomizeObjects(m resmap.ResMap, dir, rootFile string, keepOrigin bool) ([]manifest.Object, error) {
	var out []manifest.Object
	for _, res := range m.Resources() {
		source := rootFile
		origin, err := res.GetOrigin()
		if err == nil {
			source = j.remoteSource(originSource(dir, rootFile, origin))
		}
		switch remote := j.remoteOrigin(dir, origin); {
		case !keepOrigin:
			err = res.SetOrigin(nil)
		case remote != origin:
			err = res.SetOrigin(remote)
		default:
			err = nil
		}
		if err != nil {
			return nil, &Error{File: rootFile, Err: err}
		}
		y, err := res.AsYAML()
		if err != nil {
			return nil, &Error{File: source, Err: err}
		}
		if err := j.output.add(len(y) + len("---\n")); err != nil {
			return nil, &Error{File: rootFile, Err: err}
		}
		objs, err := manifest.Parse(y, source)
		if err != nil {
			return nil, located(source, 0, err)
		}
		out = append(out, objs...)
	}
	return out, nil
}

// kustomizeOverride returns the root kustomization as the build should see
// it: with its remote entries rewritten to their mounts, Argo CD's
// overrides applied, and origin annotations turned on so each object can be
// traced to its file (they are stripped again unless the kustomization
// asked for them). keepOrigin reports that it did.
func (j *job) kustomizeOverride(root *kustomization.File, rewrites map[string]string) (data []byte, keepOrigin bool, err error) {
	k := root.Kustomization() // FixKustomization has run, as it does in `kustomize edit`
	rewriteEntries(&k, rewrites)
	if o := j.env.Kustomize; o != nil {
		if err := applyArgoKustomize(&k, o, j.argoBuildEnv(), j.kustomizeComponents(path.Dir(root.Path))); err != nil {
			return nil, false, &Error{File: root.Path, Err: fmt.Errorf("applying Argo CD kustomize overrides: %w", err)}
		}
	}
	keepOrigin = slices.Contains(k.BuildMetadata, types.OriginAnnotations)
	if !keepOrigin {
		k.BuildMetadata = append(slices.Clone(k.BuildMetadata), types.OriginAnnotations)
	}
	data, err = sigsyaml.Marshal(k)
	if err != nil {
		return nil, false, &Error{File: root.Path, Err: err}
	}
	return data, keepOrigin, nil
}

// originSource maps kustomize's origin annotation (paths relative to the
// root kustomization's directory) to a repository file.
func originSource(dir, rootFile string, o *resource.Origin) string {
	if o == nil || o.Repo != "" {
		return rootFile
	}
	p := o.Path
	if p == "" {
		p = o.ConfiguredIn
	}
	if p == "" {
		return rootFile
	}
	joined, err := repofs.Join(dir, p)
	if err != nil {
		return rootFile
	}
	return joined
}

var kustPathRE = regexp.MustCompile(regexp.QuoteMeta(kustRoot) + `(/[^\s'"\x60:,;)\]}]*)?`)

// kustomizeError locates a kustomize failure. kustomize names the
// directories and files it was working on, outermost first; the innermost one
// that exists in the tree is the best location.
func (j *job) kustomizeError(err error, root *kustomization.File) error {
	var own *Error
	if errors.As(err, &own) {
		return own // one of ferry's limits, raised by a read: it knows where
	}
	raw := err.Error()
	file := root.Path
	for _, m := range kustPathRE.FindAllString(raw, -1) {
		rel, rerr := kustFS{r: j.r}.rel(m)
		if rerr != nil {
			continue
		}
		switch {
		case j.r.isFile(rel):
			file = rel
		case j.r.isDir(rel):
			if found := j.r.findKust(rel); len(found) > 0 {
				file = found[0]
			}
		}
	}
	msg := j.r.unmountMessage(strings.ReplaceAll(raw, kustRoot+"/", ""))
	msg = strings.ReplaceAll(msg, kustRoot, ".")
	line := 0
	if strings.Contains(msg, "yaml: line ") {
		line = manifest.YAMLErrorLine(nil, err)
	}
	return &Error{File: file, Line: line, Err: reword(err, msg)}
}
