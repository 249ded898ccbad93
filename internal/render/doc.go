// Package render turns one environment's source in a repository tree into
// Kubernetes objects, the way Argo CD would: `kustomize build` for Kustomize
// overlays, `helm template` for charts and a plain read for directories of
// YAML. Everything runs in-process against a repofs.Tree.
//
// The sources are untrusted pull-request content, so a render never leaves
// the tree: reads are confined to the repository and capped in size, remote
// kustomize bases, remote Helm dependencies and remote value files are refused
// before anything could fetch them, kustomize plugins (exec, container and
// starlark functions) and helm-chart inflation are disabled, and every render
// is bounded in time and output size. Result.Files lists exactly what a
// render read, so callers know which changed files can affect it.
package render
