package project

import "github.com/ferry-gitops/ferry/internal/manifest"

// Scope tells whether a kind is namespaced, and whether it knows the kind.
type Scope func(group, kind string) (namespaced, known bool)

// clusterScoped are Kubernetes' built-in cluster-scoped kinds, by group.
var clusterScoped = map[string][]string{
	"":                             {"Namespace", "Node", "PersistentVolume", "ComponentStatus"},
	"rbac.authorization.k8s.io":    {"ClusterRole", "ClusterRoleBinding"},
	"apiextensions.k8s.io":         {"CustomResourceDefinition"},
	"apiregistration.k8s.io":       {"APIService"},
	"storage.k8s.io":               {"StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "VolumeAttributesClass"},
	"scheduling.k8s.io":            {"PriorityClass"},
	"node.k8s.io":                  {"RuntimeClass"},
	"networking.k8s.io":            {"IngressClass", "IPAddress", "ServiceCIDR"},
	"admissionregistration.k8s.io": {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"},
	"certificates.k8s.io":          {"CertificateSigningRequest", "ClusterTrustBundle"},
	"flowcontrol.apiserver.k8s.io": {"FlowSchema", "PriorityLevelConfiguration"},
	"authentication.k8s.io":        {"TokenReview", "SelfSubjectReview"},
	"authorization.k8s.io":         {"SubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview"},
	"resource.k8s.io":              {"DeviceClass", "ResourceSlice"},
	"policy":                       {"PodSecurityPolicy"},
}

// namespacedKinds are the built-in namespaced kinds, by group.
var namespacedKinds = map[string][]string{
	"": {"Pod", "Service", "ConfigMap", "Secret", "ServiceAccount", "PersistentVolumeClaim", "Endpoints", "Event",
		"LimitRange", "ResourceQuota", "ReplicationController", "PodTemplate", "Binding"},
	"apps":                      {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ControllerRevision"},
	"batch":                     {"Job", "CronJob"},
	"networking.k8s.io":         {"Ingress", "NetworkPolicy"},
	"rbac.authorization.k8s.io": {"Role", "RoleBinding"},
	"policy":                    {"PodDisruptionBudget"},
	"autoscaling":               {"HorizontalPodAutoscaler"},
	"coordination.k8s.io":       {"Lease"},
	"discovery.k8s.io":          {"EndpointSlice"},
	"storage.k8s.io":            {"CSIStorageCapacity"},
	"events.k8s.io":             {"Event"},
	"authorization.k8s.io":      {"LocalSubjectAccessReview"},
	"resource.k8s.io":           {"ResourceClaim", "ResourceClaimTemplate"},
}

// BuiltinScope knows the scope of Kubernetes' built-in kinds.
func BuiltinScope(group, kind string) (namespaced, known bool) {
	for _, k := range clusterScoped[group] {
		if k == kind {
			return false, true
		}
	}
	for _, k := range namespacedKinds[group] {
		if k == kind {
			return true, true
		}
	}
	return false, false
}

// WithCRDs is a scope that first asks the CustomResourceDefinitions among
// objs (a render may bring its own kinds), then fallback.
func WithCRDs(objs []manifest.Object, fallback Scope) Scope {
	type gk struct{ group, kind string }
	crds := map[gk]bool{}
	for _, o := range objs {
		if group, kind, namespaced, ok := o.DefinedKind(); ok {
			crds[gk{group, kind}] = namespaced
		}
	}
	return func(group, kind string) (bool, bool) {
		if namespaced, ok := crds[gk{group, kind}]; ok {
			return namespaced, true
		}
		return fallback(group, kind)
	}
}
