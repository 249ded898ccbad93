// Package health judges whether a live Kubernetes object has become what it
// was applied to be, the way Argo CD's health assessment does: a workload is
// Healthy once its controller reports the rollout of the current spec done,
// Degraded when the controller gave up, Progressing in between, Suspended
// when someone paused it (a paused Deployment, a suspended CronJob or Job):
// nothing is rolling out, by intent, which is no failure. Kinds with no
// notion of progress are Healthy as soon as they exist.
package health

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// Code is an object's health, Argo CD's vocabulary.
type Code string

const (
	Healthy     Code = "Healthy"
	Suspended   Code = "Suspended"
	Progressing Code = "Progressing"
	Degraded    Code = "Degraded"
	Missing     Code = "Missing"
	Unknown     Code = "Unknown"
)

// Worse reports whether a is a worse health than b, in the order Argo CD
// aggregates an application's health from its resources'.
func Worse(a, b Code) bool { return severity(a) > severity(b) }

func severity(c Code) int {
	switch c {
	case Healthy:
		return 0
	case Suspended:
		return 1
	case Progressing:
		return 2
	case Unknown:
		return 3
	case Missing:
		return 4
	case Degraded:
		return 5
	}
	return 3
}

// Settled reports whether there is nothing left to wait for: Healthy, or
// Suspended (paused by intent; it will not progress until resumed). A sync
// waiting for health stops waiting at either, and neither is a failure.
func (c Code) Settled() bool { return c == Healthy || c == Suspended }

// Status is an object's health with the reason, for people.
type Status struct {
	Code    Code   `json:"code"`
	Message string `json:"message,omitempty"`
}

func (s Status) String() string {
	if s.Message == "" {
		return string(s.Code)
	}
	return string(s.Code) + ": " + s.Message
}

// Check assesses a live object; nil is Missing. An object whose status
// cannot be read as its kind's is Unknown rather than an error: health is a
// report, and one odd object must not stop the others being judged.
func Check(obj *unstructured.Unstructured) Status {
	if obj == nil {
		return Status{Code: Missing, Message: "object does not exist"}
	}
	if obj.GetDeletionTimestamp() != nil {
		return Status{Code: Progressing, Message: "pending deletion"}
	}
	gk := obj.GroupVersionKind().GroupKind()
	var (
		st  Status
		err error
	)
	switch {
	case gk.Group == "apps" && gk.Kind == "Deployment":
		st, err = typed(obj, deployment)
	case gk.Group == "apps" && gk.Kind == "StatefulSet":
		st, err = typed(obj, statefulSet)
	case gk.Group == "apps" && gk.Kind == "DaemonSet":
		st, err = typed(obj, daemonSet)
	case gk.Group == "batch" && gk.Kind == "Job":
		st, err = typed(obj, job)
	case gk.Group == "batch" && gk.Kind == "CronJob":
		st = cronJob(obj)
	case gk.Group == "" && gk.Kind == "PersistentVolumeClaim":
		st, err = typed(obj, pvc)
	case gk.Group == "" && gk.Kind == "Service":
		st, err = typed(obj, service)
	case (gk.Group == "networking.k8s.io" || gk.Group == "extensions") && gk.Kind == "Ingress":
		st = ingress(obj)
	default:
		st = Status{Code: Healthy}
	}
	if err != nil {
		return Status{Code: Unknown, Message: err.Error()}
	}
	return st
}

// typed converts obj to its API type and assesses it with fn.
func typed[T any](obj *unstructured.Unstructured, fn func(*T) Status) (Status, error) {
	var v T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &v); err != nil {
		return Status{}, fmt.Errorf("read %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	return fn(&v), nil
}

func deployment(d *appsv1.Deployment) Status {
	if d.Spec.Paused {
		return Status{Code: Suspended, Message: "deployment is paused"}
	}
	// Until the controller has seen the current spec, the status describes
	// the previous one.
	if d.Status.ObservedGeneration < d.Generation {
		return Status{Code: Progressing, Message: "waiting for the deployment controller to observe the new generation"}
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return Status{Code: Degraded, Message: fmt.Sprintf("deployment %q exceeded its progress deadline", d.Name)}
		}
	}
	want := replicas(d.Spec.Replicas)
	s := d.Status
	switch {
	case s.UpdatedReplicas < want:
		return Status{Code: Progressing, Message: fmt.Sprintf("waiting for rollout to finish: %d out of %d new replicas have been updated", s.UpdatedReplicas, want)}
	case s.Replicas > s.UpdatedReplicas:
		return Status{Code: Progressing, Message: fmt.Sprintf("waiting for rollout to finish: %d old replicas are pending termination", s.Replicas-s.UpdatedReplicas)}
	case s.AvailableReplicas < want:
		return Status{Code: Progressing, Message: fmt.Sprintf("waiting for rollout to finish: %d of %d updated replicas are available", s.AvailableReplicas, want)}
	}
	return Status{Code: Healthy, Message: fmt.Sprintf("%d of %d replicas updated and available", s.AvailableReplicas, want)}
}

func statefulSet(sts *appsv1.StatefulSet) Status {
	s := sts.Status
	if s.ObservedGeneration == 0 || s.ObservedGeneration < sts.Generation {
		return Status{Code: Progressing, Message: "waiting for the statefulset controller to observe the new generation"}
	}
	want := replicas(sts.Spec.Replicas)
	if s.ReadyReplicas < want {
		return Status{Code: Progressing, Message: fmt.Sprintf("waiting for %d pods to be ready", want-s.ReadyReplicas)}
	}
	strategy := sts.Spec.UpdateStrategy
	// OnDelete: the controller never replaces pods by itself, so the
	// revisions stay apart until someone deletes them; ready is all there is.
	if strategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return Status{Code: Healthy, Message: fmt.Sprintf("statefulset has %d ready pods", s.ReadyReplicas)}
	}
	// A partitioned rollout only updates the ordinals at or above the
	// partition: done when those are, though the revisions still differ.
	if ru := strategy.RollingUpdate; ru != nil && ru.Partition != nil && *ru.Partition > 0 {
		updated := max(want-*ru.Partition, 0)
		if s.UpdatedReplicas < updated {
			return Status{Code: Progressing, Message: fmt.Sprintf("waiting for partitioned rollout to finish: %d out of %d new pods have been updated", s.UpdatedReplicas, updated)}
		}
		return Status{Code: Healthy, Message: fmt.Sprintf("partitioned rollout complete: %d new pods have been updated", s.UpdatedReplicas)}
	}
	if s.UpdatedReplicas < want || s.CurrentRevision != s.UpdateRevision {
		return Status{Code: Progressing, Message: fmt.Sprintf("waiting for rolling update to complete: %d of %d pods at revision %s", s.UpdatedReplicas, want, s.UpdateRevision)}
	}
	return Status{Code: Healthy, Message: fmt.Sprintf("rolling update complete: %d pods at revision %s", s.CurrentReplicas, s.CurrentRevision)}
}

func daemonSet(ds *appsv1.DaemonSet) Status {
	s := ds.Status
	if s.ObservedGeneration < ds.Generation {
		return Status{Code: Progressing, Message: "waiting for the daemonset controller to observe the new generation"}
	}
	if ds.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType {
		return Status{Code: Healthy, Message: fmt.Sprintf("%d out of %d new pods have been updated", s.UpdatedNumberScheduled, s.DesiredNumberScheduled)}
	}
	switch {
	case s.UpdatedNumberScheduled < s.DesiredNumberScheduled:
		return Status{Code: Progressing, Message: fmt.Sprintf("waiting for rollout to finish: %d out of %d new pods have been updated", s.UpdatedNumberScheduled, s.DesiredNumberScheduled)}
	case s.NumberAvailable < s.DesiredNumberScheduled:
		return Status{Code: Progressing, Message: fmt.Sprintf("waiting for rollout to finish: %d of %d updated pods are available", s.NumberAvailable, s.DesiredNumberScheduled)}
	}
	return Status{Code: Healthy, Message: fmt.Sprintf("%d of %d pods updated and available", s.NumberAvailable, s.DesiredNumberScheduled)}
}

func job(j *batchv1.Job) Status {
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobFailed:
			return Status{Code: Degraded, Message: conditionMessage("job failed", c.Reason, c.Message)}
		case batchv1.JobComplete:
			return Status{Code: Healthy, Message: conditionMessage("job completed", c.Reason, c.Message)}
		}
	}
	if j.Spec.Suspend != nil && *j.Spec.Suspend {
		return Status{Code: Suspended, Message: fmt.Sprintf("job is suspended: %d active, %d succeeded, %d failed", j.Status.Active, j.Status.Succeeded, j.Status.Failed)}
	}
	return Status{Code: Progressing, Message: fmt.Sprintf("job running: %d active, %d succeeded, %d failed", j.Status.Active, j.Status.Succeeded, j.Status.Failed)}
}

// cronJob is Suspended when spec.suspend is set, as Argo CD's CronJob
// health check says; otherwise Healthy, as it exists (whether its runs
// succeed is the Jobs' health). It reads the field without converting, so
// batch/v1beta1 CronJobs are judged alike.
func cronJob(obj *unstructured.Unstructured) Status {
	if suspend, _, _ := unstructured.NestedBool(obj.Object, "spec", "suspend"); suspend {
		return Status{Code: Suspended, Message: "cronjob is suspended"}
	}
	return Status{Code: Healthy}
}

func conditionMessage(what, reason, msg string) string {
	switch {
	case reason != "" && msg != "":
		return fmt.Sprintf("%s (%s): %s", what, reason, msg)
	case reason != "":
		return fmt.Sprintf("%s (%s)", what, reason)
	case msg != "":
		return what + ": " + msg
	}
	return what
}

func pvc(p *corev1.PersistentVolumeClaim) Status {
	switch p.Status.Phase {
	case corev1.ClaimBound:
		return Status{Code: Healthy, Message: "bound"}
	case corev1.ClaimLost:
		return Status{Code: Degraded, Message: "claim lost its volume"}
	case corev1.ClaimPending:
		return Status{Code: Progressing, Message: "waiting for the claim to be bound"}
	}
	return Status{Code: Unknown, Message: fmt.Sprintf("claim phase %q", p.Status.Phase)}
}

func service(svc *corev1.Service) Status {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return Status{Code: Healthy}
	}
	if len(svc.Status.LoadBalancer.Ingress) == 0 {
		return Status{Code: Progressing, Message: "waiting for the load balancer to be provisioned"}
	}
	return Status{Code: Healthy, Message: "load balancer provisioned"}
}

// ingress reads status.loadBalancer.ingress without converting: the field
// has the same shape in every Ingress version Argo CD knows.
func ingress(obj *unstructured.Unstructured) Status {
	lbs, _, _ := unstructured.NestedSlice(obj.Object, "status", "loadBalancer", "ingress")
	if len(lbs) == 0 {
		return Status{Code: Progressing, Message: "waiting for the ingress controller to publish an address"}
	}
	return Status{Code: Healthy, Message: "address published"}
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}
