package health_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/ferry-gitops/ferry/internal/health"
)

func parse(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("test object: %v", err)
	}
	return &unstructured.Unstructured{Object: m}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		obj      string
		want     health.Code
		wantText string
	}{
		// Deployment.
		{"deployment rolled out", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, generation: 2}
spec: {replicas: 3}
status: {observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3}`, health.Healthy, "3 of 3"},
		{"deployment generation not observed", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, generation: 3}
spec: {replicas: 3}
status: {observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3}`, health.Progressing, "observe the new generation"},
		{"deployment updating", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, generation: 2}
spec: {replicas: 5}
status: {observedGeneration: 2, replicas: 5, updatedReplicas: 2, availableReplicas: 5}`, health.Progressing, "2 out of 5 new replicas"},
		{"deployment old replicas terminating", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, generation: 2}
spec: {replicas: 3}
status: {observedGeneration: 2, replicas: 4, updatedReplicas: 3, availableReplicas: 3}`, health.Progressing, "1 old replicas"},
		{"deployment not available", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, generation: 2}
spec: {replicas: 3}
status: {observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 1}`, health.Progressing, "1 of 3 updated replicas are available"},
		{"deployment deadline exceeded", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, generation: 2}
spec: {replicas: 3}
status:
  observedGeneration: 2
  replicas: 3
  updatedReplicas: 1
  conditions:
  - {type: Progressing, status: "False", reason: ProgressDeadlineExceeded}`, health.Degraded, "exceeded its progress deadline"},
		{"deployment paused", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, generation: 1}
spec: {replicas: 1, paused: true}
status: {observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1}`, health.Suspended, "deployment is paused"},
		{"deployment paused mid-rollout", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, generation: 3}
spec: {replicas: 4, paused: true}
status: {observedGeneration: 2, replicas: 4, updatedReplicas: 1, availableReplicas: 3}`, health.Suspended, "deployment is paused"},
		{"deployment being deleted", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, generation: 1, deletionTimestamp: "2026-01-01T00:00:00Z"}
spec: {replicas: 1}
status: {observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1}`, health.Progressing, "pending deletion"},
		{"deployment with a field of the wrong type", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {replicas: many}`, health.Unknown, "read Deployment web"},

		// StatefulSet.
		{"statefulset rolled out", `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, generation: 1}
spec: {replicas: 3, updateStrategy: {type: RollingUpdate}}
status: {observedGeneration: 1, replicas: 3, readyReplicas: 3, updatedReplicas: 3, currentReplicas: 3, currentRevision: db-1, updateRevision: db-1}`, health.Healthy, "revision db-1"},
		{"statefulset revisions apart", `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, generation: 2}
spec: {replicas: 3, updateStrategy: {type: RollingUpdate}}
status: {observedGeneration: 2, replicas: 3, readyReplicas: 3, updatedReplicas: 1, currentRevision: db-1, updateRevision: db-2}`, health.Progressing, "1 of 3 pods at revision db-2"},
		{"statefulset not ready", `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, generation: 1}
spec: {replicas: 3}
status: {observedGeneration: 1, replicas: 3, readyReplicas: 1}`, health.Progressing, "2 pods to be ready"},
		{"statefulset never observed", `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, generation: 1}
spec: {replicas: 3}`, health.Progressing, "observe"},
		{"statefulset partition done", `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, generation: 2}
spec: {replicas: 3, updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2}}}
status: {observedGeneration: 2, replicas: 3, readyReplicas: 3, updatedReplicas: 1, currentRevision: db-1, updateRevision: db-2}`, health.Healthy, "partitioned rollout complete"},
		{"statefulset partition pending", `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, generation: 2}
spec: {replicas: 3, updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 1}}}
status: {observedGeneration: 2, replicas: 3, readyReplicas: 3, updatedReplicas: 1, currentRevision: db-1, updateRevision: db-2}`, health.Progressing, "1 out of 2 new pods"},
		{"statefulset on delete", `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, generation: 2}
spec: {replicas: 2, updateStrategy: {type: OnDelete}}
status: {observedGeneration: 2, replicas: 2, readyReplicas: 2, currentRevision: db-1, updateRevision: db-2}`, health.Healthy, "2 ready pods"},

		// DaemonSet.
		{"daemonset rolled out", `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, generation: 1}
status: {observedGeneration: 1, desiredNumberScheduled: 4, updatedNumberScheduled: 4, numberAvailable: 4}`, health.Healthy, "4 of 4"},
		{"daemonset updating", `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, generation: 1}
status: {observedGeneration: 1, desiredNumberScheduled: 4, updatedNumberScheduled: 2, numberAvailable: 4}`, health.Progressing, "2 out of 4 new pods"},
		{"daemonset unavailable", `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, generation: 1}
status: {observedGeneration: 1, desiredNumberScheduled: 4, updatedNumberScheduled: 4, numberAvailable: 3}`, health.Progressing, "3 of 4 updated pods"},
		{"daemonset generation not observed", `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, generation: 2}
status: {observedGeneration: 1, desiredNumberScheduled: 4, updatedNumberScheduled: 4, numberAvailable: 4}`, health.Progressing, "observe"},

		// Job.
		{"job complete", `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
status:
  succeeded: 1
  conditions:
  - {type: SuccessCriteriaMet, status: "True"}
  - {type: Complete, status: "True"}`, health.Healthy, "job completed"},
		{"job failed", `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
status:
  failed: 6
  conditions:
  - {type: FailureTarget, status: "True"}
  - {type: Failed, status: "True", reason: BackoffLimitExceeded, message: Job has reached the specified backoff limit}`, health.Degraded, "BackoffLimitExceeded"},
		{"job running", `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
status: {active: 1}`, health.Progressing, "1 active"},
		{"job condition not true", `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
status:
  conditions:
  - {type: Failed, status: "False"}`, health.Progressing, "job running"},
		{"job suspended", `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec: {suspend: true}
status:
  conditions:
  - {type: Suspended, status: "True", reason: JobSuspended}`, health.Suspended, "job is suspended"},
		{"job suspended after it completed", `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec: {suspend: true}
status:
  conditions:
  - {type: Complete, status: "True"}`, health.Healthy, "job completed"},
		{"job resumed", `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec: {suspend: false}
status: {active: 2}`, health.Progressing, "2 active"},

		// CronJob.
		{"cronjob suspended", `
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec: {schedule: "0 3 * * *", suspend: true}`, health.Suspended, "cronjob is suspended"},
		{"cronjob scheduled", `
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec: {schedule: "0 3 * * *", suspend: false}`, health.Healthy, ""},

		// PersistentVolumeClaim.
		{"pvc bound", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nstatus: {phase: Bound}", health.Healthy, "bound"},
		{"pvc pending", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nstatus: {phase: Pending}", health.Progressing, "bound"},
		{"pvc lost", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nstatus: {phase: Lost}", health.Degraded, "lost"},
		{"pvc no phase", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}", health.Unknown, "phase"},

		// Service.
		{"service cluster ip", "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: ClusterIP}", health.Healthy, ""},
		{"service lb pending", "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: LoadBalancer}\nstatus: {loadBalancer: {}}", health.Progressing, "load balancer"},
		{"service lb ready", "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: LoadBalancer}\nstatus: {loadBalancer: {ingress: [{ip: 203.0.113.7}]}}", health.Healthy, "provisioned"},

		// Ingress.
		{"ingress without address", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}", health.Progressing, "publish an address"},
		{"ingress with address", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}\nstatus: {loadBalancer: {ingress: [{hostname: lb.example.com}]}}", health.Healthy, "address published"},

		// Everything else.
		{"configmap", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}", health.Healthy, ""},
		{"custom resource", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nstatus: {phase: Failed}", health.Healthy, ""},
		{"a Deployment of another group", "apiVersion: example.com/v1\nkind: Deployment\nmetadata: {name: d}", health.Healthy, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := health.Check(parse(t, tt.obj))
			if got.Code != tt.want || !strings.Contains(got.Message, tt.wantText) {
				t.Errorf("Check = %s, want %s with a message containing %q", got, tt.want, tt.wantText)
			}
		})
	}
}

func TestCheckMissing(t *testing.T) {
	if got := health.Check(nil); got.Code != health.Missing {
		t.Errorf("Check(nil) = %s, want Missing", got)
	}
}

func TestWorse(t *testing.T) {
	order := []health.Code{health.Healthy, health.Suspended, health.Progressing, health.Unknown, health.Missing, health.Degraded}
	for i, a := range order {
		for j, b := range order {
			if got := health.Worse(a, b); got != (i > j) {
				t.Errorf("Worse(%s, %s) = %v, want %v", a, b, got, i > j)
			}
		}
	}
}

func TestSettled(t *testing.T) {
	tests := []struct {
		code health.Code
		want bool
	}{
		{health.Healthy, true},
		{health.Suspended, true},
		{health.Progressing, false},
		{health.Unknown, false},
		{health.Missing, false},
		{health.Degraded, false},
	}
	for _, tt := range tests {
		if got := tt.code.Settled(); got != tt.want {
			t.Errorf("%s.Settled() = %v, want %v", tt.code, got, tt.want)
		}
	}
}
