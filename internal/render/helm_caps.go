package render

import (
	"fmt"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/chartutil"
)

// kubeVersion is the cluster version a render presents, as Argo CD picks
// it: the source's own kubeVersion, else the destination cluster's (the
// environment's Capabilities), else Options.KubeVersion.
func (j *job) kubeVersion() string {
	env := j.env
	switch {
	case env.Helm != nil && env.Helm.KubeVersion != "":
		return env.Helm.KubeVersion
	case env.Kustomize != nil && env.Kustomize.KubeVersion != "":
		return env.Kustomize.KubeVersion
	case env.Capabilities != nil && env.Capabilities.KubeVersion != "":
		return env.Capabilities.KubeVersion
	}
	return j.opts.KubeVersion
}

// apiVersions are the API versions (--api-versions) a render presents: the
// source's own apiVersions, else the destination cluster's; Helm adds them
// to its built-in set.
func (j *job) apiVersions() []string {
	env := j.env
	switch {
	case env.Helm != nil && len(env.Helm.APIVersions) > 0:
		return env.Helm.APIVersions
	case env.Kustomize != nil && len(env.Kustomize.APIVersions) > 0:
		return env.Kustomize.APIVersions
	case env.Capabilities != nil:
		return env.Capabilities.APIVersions
	}
	return nil
}

// helmKubeVersion parses kubeVersion as Argo CD does before handing it to
// Helm: any pre-release or build suffix ("+k3s1") is dropped and a missing
// patch is 0.
func (j *job) helmKubeVersion() (*chartutil.KubeVersion, error) {
	raw := j.kubeVersion()
	v, err := semver.NewVersion(raw)
	if err != nil {
		return nil, &Error{File: j.env.File, Err: fmt.Errorf("kube version %q: %w", raw, err)}
	}
	kv, err := chartutil.ParseKubeVersion(fmt.Sprintf("v%d.%d.%d", v.Major(), v.Minor(), v.Patch()))
	if err != nil {
		return nil, &Error{File: j.env.File, Err: fmt.Errorf("kube version %q: %w", raw, err)}
	}
	return kv, nil
}
