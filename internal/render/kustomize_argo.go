package render

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/api/pkg/util"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/ferry-gitops/ferry/internal/environment"
)

// applyArgoKustomize applies spec.source.kustomize the way Argo CD does:
// Argo runs `kustomize edit set nameprefix/namesuffix/image/replicas`,
// `kustomize edit add label/annotation`, `kustomize edit set namespace`,
// appends the patches and runs `kustomize edit add component` in the source
// directory before building; this reproduces those edits, in that order, on
// the decoded kustomization. vars are Argo CD's build environment
// (ARGOCD_APP_NAME…), which images and labels may name; components expands
// component paths and globs relative to the kustomization.
func applyArgoKustomize(k *types.Kustomization, o *environment.KustomizeSource, vars map[string]string, components func([]string, bool) ([]string, error)) error {
	if o.NamePrefix != "" {
		k.NamePrefix = o.NamePrefix
	}
	if o.NameSuffix != "" {
		k.NameSuffix = o.NameSuffix
	}
	if len(o.Images) > 0 {
		args := make([]string, len(o.Images))
		for i, im := range o.Images {
			args[i] = envsubst(im, vars)
		}
		images, err := setImages(k.Images, args)
		if err != nil {
			return err
		}
		k.Images = images
	}
	if len(o.Replicas) > 0 {
		k.Replicas = setReplicas(k.Replicas, o.Replicas)
	}
	if err := addArgoMetadata(k, o, vars); err != nil {
		return err
	}
	if o.Namespace != "" {
		k.Namespace = o.Namespace
	}
	for i, p := range o.Patches {
		patch, err := argoPatch(p)
		if err != nil {
			return fmt.Errorf("patches[%d]: %w", i, err)
		}
		k.Patches = append(k.Patches, patch)
	}
	if len(o.Components) > 0 {
		found, err := components(o.Components, o.IgnoreMissingComponents)
		if err != nil {
			return err
		}
		for _, c := range found {
			if !slices.Contains(k.Components, c) {
				k.Components = append(k.Components, c)
			}
		}
	}
	return nil
}

// preserve is `kustomize edit set image`'s "keep the existing value" marker.
const preserve = "*"

var errImageArg = errors.New(`invalid image override, use one of: <image>=<newimage>:<newtag>, <image>=<newimage>@<digest>, <image>=<newimage>:<newtag>@<digest>, <image>=<newimage>, <image>:<newtag>, <image>:<newtag>@<digest>, <image>@<digest>`)

// setImages merges image overrides into the kustomization's images exactly as
// `kustomize edit set image` (v5) does: overrides replace entries of the same
// name, "*" keeps a field's existing value, and the result is sorted by name.
func setImages(existing []types.Image, args []string) ([]types.Image, error) {
	set := map[string]types.Image{}
	for _, a := range args {
		img, err := parseImageArg(a)
		if err != nil {
			return nil, fmt.Errorf("image %q: %w", a, err)
		}
		set[img.Name] = img
	}
	for _, im := range existing {
		arg, ok := set[im.Name]
		if !ok {
			set[im.Name] = im
			continue
		}
		if arg.NewName == preserve {
			arg.NewName = im.NewName
		}
		if arg.NewTag == preserve {
			arg.NewTag = im.NewTag
		}
		if arg.Digest == preserve {
			arg.Digest = im.Digest
		}
		set[im.Name] = arg
	}
	out := make([]types.Image, 0, len(set))
	for _, im := range set {
		if im.NewName == preserve {
			im.NewName = ""
		}
		if im.NewTag == preserve {
			im.NewTag = ""
		}
		if im.Digest == preserve {
			im.Digest = ""
		}
		out = append(out, im)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out, nil
}

func parseImageArg(arg string) (types.Image, error) {
	key, value, hasKey := strings.Cut(arg, "=")
	if !hasKey {
		key, value = "", arg
	}
	name, tag, digest := util.SplitImageName(value)
	if name == arg {
		return types.Image{}, errImageArg
	}
	img := types.Image{NewTag: tag, Digest: digest}
	if key == "" {
		img.Name = name
	} else {
		img.Name = key
		img.NewName = name
	}
	return img, nil
}

// setReplicas merges replica overrides like `kustomize edit set replicas`.
func setReplicas(existing []types.Replica, overrides []environment.Replica) []types.Replica {
	set := map[string]types.Replica{}
	for _, r := range overrides {
		set[r.Name] = types.Replica{Name: r.Name, Count: r.Count}
	}
	for _, r := range existing {
		if _, ok := set[r.Name]; !ok {
			set[r.Name] = r
		}
	}
	out := make([]types.Replica, 0, len(set))
	for _, r := range set {
		out = append(out, r)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}
