package environment

// helmExtra copies the helm fields beyond values and parameters.
func helmExtra(h *helmDoc, out *HelmSource) {
	out.KubeVersion = h.KubeVersion
	out.APIVersions = h.APIVersions
	out.SkipCrds = h.SkipCrds
	out.IgnoreMissingValueFiles = h.IgnoreMissingValueFiles
	out.Namespace = h.Namespace
	for _, p := range h.FileParameters {
		out.FileParameters = append(out.FileParameters, HelmFileParameter{Name: p.Name, Path: p.Path})
	}
}

// kustomizeExtra copies the kustomize fields beyond images, replicas,
// prefixes, namespace and labels.
func kustomizeExtra(k *kustomizeDoc, out *KustomizeSource) {
	out.CommonAnnotations = k.CommonAnnotations
	out.CommonAnnotationsEnvsubst = k.CommonAnnotationsEnvsubst
	out.LabelWithoutSelector = k.LabelWithoutSelector
	out.LabelIncludeTemplates = k.LabelIncludeTemplates
	out.ForceCommonLabels = k.ForceCommonLabels
	out.ForceCommonAnnotations = k.ForceCommonAnnotations
	out.Patches = k.Patches
	out.Components = k.Components
	out.IgnoreMissingComponents = k.IgnoreMissingComponents
	out.KubeVersion = k.KubeVersion
	out.APIVersions = k.APIVersions
}
