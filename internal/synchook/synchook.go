// Package synchook reads Argo CD's resource hook annotations, and Helm's
// hook annotations mapped as Argo CD maps them: in which sync phases an
// object runs as a hook, when it is deleted, and its wave. It is data only:
// package syncer runs the hooks, package diff marks them in a preview.
package synchook

import (
	"strconv"
	"strings"
)

// Phase is a sync phase a hook runs in.
type Phase string

// Argo CD's hook types. Skip is not a phase: an object whose only hook type
// is Skip is never applied.
const (
	PreSync  Phase = "PreSync"
	Sync     Phase = "Sync"
	PostSync Phase = "PostSync"
	SyncFail Phase = "SyncFail"
	Skip     Phase = "Skip"
)

// Phases are the phases hooks run in, in the order a sync reaches them
// (SyncFail only when it fails).
func Phases() []Phase { return []Phase{PreSync, Sync, PostSync, SyncFail} }

// DeletePolicy says when a hook is deleted.
type DeletePolicy string

// Argo CD's hook delete policies.
const (
	// HookSucceeded deletes the hook once it has succeeded.
	HookSucceeded DeletePolicy = "HookSucceeded"
	// HookFailed deletes the hook once it has failed.
	HookFailed DeletePolicy = "HookFailed"
	// BeforeHookCreation deletes the previous instance of the hook before
	// creating it again; the default when no policy is given.
	BeforeHookCreation DeletePolicy = "BeforeHookCreation"
)

// The annotations read.
const (
	HookAnnotation             = "argocd.argoproj.io/hook"
	DeletePolicyAnnotation     = "argocd.argoproj.io/hook-delete-policy"
	SyncWaveAnnotation         = "argocd.argoproj.io/sync-wave"
	HelmHookAnnotation         = "helm.sh/hook"
	HelmWeightAnnotation       = "helm.sh/hook-weight"
	HelmDeletePolicyAnnotation = "helm.sh/hook-delete-policy"
)

// helmPhases maps the Helm hooks Argo CD runs to its phases. Helm's other
// hooks (pre/post-delete, pre/post-rollback, test) make an object a hook
// that runs in no phase: never applied.
var helmPhases = map[string]Phase{
	"pre-install":  PreSync,
	"pre-upgrade":  PreSync,
	"post-install": PostSync,
	"post-upgrade": PostSync,
}

var helmPolicies = map[string]DeletePolicy{
	"before-hook-creation": BeforeHookCreation,
	"hook-succeeded":       HookSucceeded,
	"hook-failed":          HookFailed,
}

// Spec is what an object's annotations make of it.
type Spec struct {
	// Hook: the object is a hook, never applied as an ordinary resource
	// (nor tracked or pruned); it runs in Phases, which may be none (a Helm
	// test or pre-delete hook, an unknown hook type), as in Argo CD.
	Hook bool
	// Skip: the object's only hook type is Skip, and it is never applied.
	Skip bool
	// Phases the hook runs in, without duplicates.
	Phases []Phase
	// Policies are its delete policies: BeforeHookCreation when none is
	// given.
	Policies []DeletePolicy
	// Wave is its sync wave (argocd.argoproj.io/sync-wave, else Helm's
	// hook-weight); it orders hooks within a phase.
	Wave int
	// Helm: the phases come from helm.sh/hook (Argo CD ignores Helm's
	// annotation when its own is there).
	Helm bool
	// Raw is the hook annotation as written, for a reader.
	Raw string
}

// Of reads the hook annotations of a decoded object.
func Of(obj map[string]any) Spec {
	return FromAnnotations(annotations(obj))
}

// FromAnnotations reads the hook annotations.
func FromAnnotations(ann map[string]string) Spec {
	var s Spec
	argo, hasArgo := ann[HookAnnotation]
	helm, hasHelm := ann[HelmHookAnnotation]
	types := csv(argo)
	for _, t := range types {
		if p := Phase(t); p == PreSync || p == Sync || p == PostSync || p == SyncFail || p == Skip {
			s.Phases = appendOnce(s.Phases, p)
		}
	}
	if len(s.Phases) == 0 && hasHelm {
		for _, t := range csv(helm) {
			if p, ok := helmPhases[t]; ok {
				s.Phases = appendOnce(s.Phases, p)
				s.Helm = true
			}
		}
	}
	if len(s.Phases) == 1 && s.Phases[0] == Skip {
		return Spec{Skip: true, Raw: argo, Phases: nil}
	}
	s.Phases = without(s.Phases, Skip)
	switch {
	case hasArgo:
		s.Hook, s.Raw = true, argo
	case hasHelm && strings.TrimSpace(helm) != "crd-install":
		s.Hook, s.Raw, s.Helm = true, helm, true
	default:
		return Spec{Wave: wave(ann)}
	}
	for _, p := range csv(ann[DeletePolicyAnnotation]) {
		if d := DeletePolicy(p); d == HookSucceeded || d == HookFailed || d == BeforeHookCreation {
			s.Policies = appendOnce(s.Policies, d)
		}
	}
	for _, p := range csv(ann[HelmDeletePolicyAnnotation]) {
		if d, ok := helmPolicies[p]; ok {
			s.Policies = appendOnce(s.Policies, d)
		}
	}
	if len(s.Policies) == 0 {
		s.Policies = []DeletePolicy{BeforeHookCreation}
	}
	s.Wave = wave(ann)
	return s
}

// Has reports whether the hook runs in phase p.
func (s Spec) Has(p Phase) bool {
	for _, q := range s.Phases {
		if q == p {
			return true
		}
	}
	return false
}

// Deletes reports whether the hook has policy p.
func (s Spec) Deletes(p DeletePolicy) bool {
	for _, q := range s.Policies {
		if q == p {
			return true
		}
	}
	return false
}

// Label names what the object is for a reader: "PreSync", "PreSync,
// PostSync", "Skip", or "not run" for a hook of no phase ferry runs; ""
// for an ordinary resource.
func (s Spec) Label() string {
	switch {
	case s.Skip:
		return string(Skip)
	case !s.Hook:
		return ""
	case len(s.Phases) == 0:
		return "not run"
	}
	parts := make([]string, len(s.Phases))
	for i, p := range s.Phases {
		parts[i] = string(p)
	}
	return strings.Join(parts, ", ")
}

// wave is Argo CD's: the sync-wave annotation, else Helm's hook-weight, a
// value that is not an integer counting as 0.
func wave(ann map[string]string) int {
	text, ok := ann[SyncWaveAnnotation]
	if !ok {
		text = ann[HelmWeightAnnotation]
	}
	n, err := strconv.Atoi(strings.TrimSpace(text))
	if err != nil {
		return 0
	}
	return n
}

func annotations(obj map[string]any) map[string]string {
	meta, _ := obj["metadata"].(map[string]any)
	raw, _ := meta["annotations"].(map[string]any)
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

func csv(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func appendOnce[T comparable](xs []T, x T) []T {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

func without[T comparable](xs []T, x T) []T {
	var out []T
	for _, y := range xs {
		if y != x {
			out = append(out, y)
		}
	}
	return out
}
