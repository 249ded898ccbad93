package deploy_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/ferry-gitops/ferry/internal/server"
)

// TestLayouts checks each layout's build has the properties
// deploy/README.md promises.
func TestLayouts(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			m := load(t, l.dir)
			checkPod(t, m)
			checkService(t, m)
			checkEnv(t, m)
			checkShutdown(t, m)
			checkReplicas(t, l, m)
			checkDatabase(t, l, m)
			checkPDB(t, l, m)
			checkRBAC(t, l, m)
		})
	}
}

// check is one expectation: got must deeply equal want.
type check struct {
	what      string
	got, want any
}

func assert(t *testing.T, checks []check) {
	t.Helper()
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.what, c.got, c.want)
		}
	}
}

// deref is *p, or nil when p is.
func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// podLabel is the label every selector (Deployment, Service, PDB,
// ServiceMonitor) uses.
const podLabel = "app.kubernetes.io/name"

func checkPod(t *testing.T, m manifests) {
	pod, c := m.deployment.Spec.Template.Spec, m.container
	psc := cmpOr(pod.SecurityContext, &corev1.PodSecurityContext{})
	csc := cmpOr(c.SecurityContext, &corev1.SecurityContext{})
	var dropped []corev1.Capability
	if csc.Capabilities != nil {
		dropped = csc.Capabilities.Drop
	}
	assert(t, []check{
		{"pod runAsNonRoot", deref(psc.RunAsNonRoot), true},
		{"pod runAsUser (the Dockerfile's)", deref(psc.RunAsUser), int64(65532)},
		{"pod fsGroup", deref(psc.FSGroup), int64(65532)},
		{"readOnlyRootFilesystem", deref(csc.ReadOnlyRootFilesystem), true},
		{"allowPrivilegeEscalation", deref(csc.AllowPrivilegeEscalation), false},
		{"capabilities dropped", dropped, []corev1.Capability{"ALL"}},
		{"readiness probe", probe(c.ReadinessProbe), "/readyz on http"},
		{"liveness probe", probe(c.LivenessProbe), "/healthz on http"},
		{"container port http", containerPort(c, "http"), int32(8080)},
		{"CPU request set", c.Resources.Requests.Cpu().IsZero(), false},
		{"memory request set", c.Resources.Requests.Memory().IsZero(), false},
		{"memory limit set", c.Resources.Limits.Memory().IsZero(), false},
		{"/tmp volume", volumeKind(pod, mountedAt(c, "/tmp")), "emptyDir"},
		{"serviceAccountName", pod.ServiceAccountName, "ferry"},
		{"template label", m.deployment.Spec.Template.Labels[podLabel], "ferry"},
		{"selector", m.deployment.Spec.Selector.MatchLabels, map[string]string{podLabel: "ferry"}},
	})
}

func cmpOr[T any](p, fallback *T) *T {
	if p == nil {
		return fallback
	}
	return p
}

// probe describes an HTTP probe as "PATH on PORT".
func probe(p *corev1.Probe) string {
	if p == nil || p.HTTPGet == nil {
		return "none"
	}
	return p.HTTPGet.Path + " on " + p.HTTPGet.Port.String()
}

func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// mountedAt names the volume mounted at path.
func mountedAt(c corev1.Container, path string) string {
	for _, vm := range c.VolumeMounts {
		if vm.MountPath == path {
			return vm.Name
		}
	}
	return ""
}

// volumeKind says what backs the pod's volume name.
func volumeKind(pod corev1.PodSpec, name string) string {
	for _, v := range pod.Volumes {
		switch {
		case v.Name != name:
		case v.EmptyDir != nil:
			return "emptyDir"
		case v.PersistentVolumeClaim != nil:
			return "persistentVolumeClaim " + v.PersistentVolumeClaim.ClaimName
		case v.Projected != nil:
			return "projected"
		default:
			return "other"
		}
	}
	return "none"
}

// checkService: a ServiceMonitor selects the Service by label and scrapes
// its port named http, where /metrics is served next to /webhook.
func checkService(t *testing.T, m manifests) {
	var names []string
	var target string
	for _, p := range m.service.Spec.Ports {
		names = append(names, p.Name)
		target = p.TargetPort.String()
	}
	assert(t, []check{
		{"service label", m.service.Labels[podLabel], "ferry"},
		{"service selector", m.service.Spec.Selector, map[string]string{podLabel: "ferry"}},
		{"service port names", names, []string{"http"}},
		{"service targetPort", target, "http"},
	})
}

// checkEnv: every FERRY_* variable set is one `ferry serve` reads, and the
// files and directories they name are on the right volumes.
func checkEnv(t *testing.T, m manifests) {
	known, helpErr := serveEnv()
	if known == nil {
		t.Fatalf("ferry serve --help failed:\n%s", helpErr)
	}
	pod, c := m.deployment.Spec.Template.Spec, m.container
	for _, e := range c.Env {
		if strings.HasPrefix(e.Name, "FERRY_") && !known[e.Name] {
			t.Errorf("env %s: `ferry serve` reads no such variable", e.Name)
		}
	}
	assert(t, []check{
		{"FERRY_DATA_DIR's volume", mountedAt(c, env(c, "FERRY_DATA_DIR")), "data"},
		{"FERRY_CONFIG", env(c, "FERRY_CONFIG"), "/etc/ferry/config.yaml"},
		{"FERRY_PRIVATE_KEY_FILE", env(c, "FERRY_PRIVATE_KEY_FILE"), "/etc/ferry/private-key.pem"},
		{"FERRY_WEBHOOK_SECRET_FILE", env(c, "FERRY_WEBHOOK_SECRET_FILE"), "/etc/ferry/webhook-secret"},
		{"/etc/ferry volume", volumeKind(pod, mountedAt(c, "/etc/ferry")), "projected"},
	})
}

// env is the value of the container's variable name ("" when unset or
// from a reference).
func env(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// checkShutdown: Kubernetes waits for the preStop pause and ferry's whole
// shutdown grace before it SIGKILLs, so draining completes.
func checkShutdown(t *testing.T, m manifests) {
	grace := server.DefaultShutdownGrace
	if v := env(m.container, "FERRY_SHUTDOWN_GRACE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("FERRY_SHUTDOWN_GRACE %q: %v", v, err)
		}
		grace = d
	}
	var pause time.Duration
	if l := m.container.Lifecycle; l != nil && l.PreStop != nil && l.PreStop.Sleep != nil {
		pause = time.Duration(l.PreStop.Sleep.Seconds) * time.Second
	}
	p := m.deployment.Spec.Template.Spec.TerminationGracePeriodSeconds
	if p == nil || time.Duration(*p)*time.Second <= pause+grace {
		t.Errorf("terminationGracePeriodSeconds %v: want more than preStop %s + shutdown grace %s", deref(p), pause, grace)
	}
}

func checkReplicas(t *testing.T, l layout, m manifests) {
	s := m.deployment.Spec.Strategy
	var maxUnavailable any
	if s.RollingUpdate != nil {
		maxUnavailable = deref(s.RollingUpdate.MaxUnavailable)
	}
	want := map[appsv1.DeploymentStrategyType]any{
		appsv1.RecreateDeploymentStrategyType:      nil,
		appsv1.RollingUpdateDeploymentStrategyType: intstr.FromInt32(0), // full capacity during a rollout
	}[l.strategy]
	assert(t, []check{
		{"replicas", deref(m.deployment.Spec.Replicas), l.replicas},
		{"strategy", s.Type, l.strategy},
		{"maxUnavailable", maxUnavailable, want},
	})
}

// checkDatabase: SQLite on the claim, or PostgreSQL from the Secret with no
// claim anywhere.
func checkDatabase(t *testing.T, l layout, m manifests) {
	pod, c := m.deployment.Spec.Template.Spec, m.container
	data, claims := "emptyDir", 0
	if l.pvc {
		data = "persistentVolumeClaim ferry-data"
	}
	for _, u := range m.objs {
		if u.GetKind() == "PersistentVolumeClaim" {
			claims++
		}
	}
	for _, v := range pod.Volumes {
		if v.PersistentVolumeClaim != nil {
			claims++
		}
	}
	wantClaims := map[bool]int{true: 2, false: 0}[l.pvc] // the object and its use
	var from string
	for _, e := range c.Env {
		if e.Name == "FERRY_DATABASE_URL" {
			from = "value " + e.Value
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.Value == "" {
				from = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
			}
		}
	}
	assert(t, []check{
		{"data volume", volumeKind(pod, "data"), data},
		{"claims (objects and volumes)", claims, wantClaims},
		{"FERRY_DATABASE_URL from", from, l.databaseURL},
	})
}

func checkPDB(t *testing.T, l layout, m manifests) {
	if (m.pdb != nil) != l.pdb {
		t.Fatalf("PodDisruptionBudget present: %v, want %v", m.pdb != nil, l.pdb)
	}
	if m.pdb == nil {
		return
	}
	var selector map[string]string
	if m.pdb.Spec.Selector != nil {
		selector = m.pdb.Spec.Selector.MatchLabels
	}
	assert(t, []check{
		{"PDB minAvailable", deref(m.pdb.Spec.MinAvailable), intstr.FromInt32(1)},
		{"PDB selector", selector, map[string]string{podLabel: "ferry"}},
		{"replicas above minAvailable", l.replicas > 1, true},
	})
}

// checkRBAC: ferry may read, watch, apply and prune every kind; nothing more
// (no escalate, bind, impersonate or deletecollection).
func checkRBAC(t *testing.T, l layout, m manifests) {
	if (m.role != nil) != l.rbac || (m.binding != nil) != l.rbac {
		t.Fatalf("ClusterRole, ClusterRoleBinding present: %v, %v; want %v", m.role != nil, m.binding != nil, l.rbac)
	}
	if m.role == nil {
		return
	}
	var verbs []string
	for _, r := range m.role.Rules {
		if slices.Equal(r.APIGroups, []string{"*"}) && slices.Equal(r.Resources, []string{"*"}) {
			verbs = append(verbs, r.Verbs...)
		}
	}
	slices.Sort(verbs)
	assert(t, []check{
		{"ClusterRole rules", len(m.role.Rules), 1},
		{"verbs on */*", verbs, []string{"create", "delete", "get", "list", "patch", "update", "watch"}},
		{"roleRef", m.binding.RoleRef, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: m.role.Name}},
		{"subjects", m.binding.Subjects, []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: m.deployment.Spec.Template.Spec.ServiceAccountName, Namespace: namespace}}},
	})
}
