package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ferry-gitops/ferry/internal/health"
	"github.com/ferry-gitops/ferry/internal/manifest"
)

// ResourceHealth is one object's health.
type ResourceHealth struct {
	Key    manifest.Key  `json:"key"`
	Status health.Status `json:"status"`
}

// HealthReport is the health of a set of objects, as last seen.
type HealthReport struct {
	Resources []ResourceHealth `json:"resources"`
}

// Status is the worst health of the resources, Argo CD's app health:
// Healthy when there are none.
func (r HealthReport) Status() health.Code {
	worst := health.Healthy
	for _, res := range r.Resources {
		if health.Worse(res.Status.Code, worst) {
			worst = res.Status.Code
		}
	}
	return worst
}

// Unhealthy lists the resources that are not Healthy.
func (r HealthReport) Unhealthy() []ResourceHealth {
	var out []ResourceHealth
	for _, res := range r.Resources {
		if res.Status.Code != health.Healthy {
			out = append(out, res)
		}
	}
	return out
}

// WaitHealthy waits until every object in keys is Healthy, or Suspended
// (a paused Deployment: Argo CD's sync does not wait for it). The keys are
// effective ones, namespace filled in, as the ChangeSet and the Inventory
// have them (cs.Keys(Created, Configured, Unchanged)): a rendered key
// without its namespace names no object, and is reported Unknown. It returns
// early, with a *HealthError wrapping ErrDegraded, as soon as one is
// Degraded (a rollout that gave up does not recover by waiting), and with
// one wrapping ErrHealthTimeout listing the unhealthy objects when timeout
// passes. The report is the last look either way. When every object not
// healthy at the deadline is one the cluster could not be asked about (an
// outage: see Unavailable), the error wraps those read errors instead: the
// wait could not tell, which is not the rollout's fault.
func (s *Syncer) WaitHealthy(ctx context.Context, keys []manifest.Key, timeout time.Duration) (HealthReport, error) {
	return s.waitHealthy(ctx, keys, timeout, s.pollInterval, DefaultOptions().Concurrency)
}

func (s *Syncer) waitHealthy(ctx context.Context, keys []manifest.Key, timeout, interval time.Duration, workers int) (HealthReport, error) {
	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		// Each look runs to the end under the caller's context, so the
		// report at the deadline is a full one, not reads cut short.
		report, readErrs := s.checkHealth(ctx, keys, workers)
		var degraded []ResourceHealth
		for _, r := range report.Resources {
			if r.Status.Code == health.Degraded {
				degraded = append(degraded, r)
			}
		}
		if len(degraded) > 0 {
			return report, &HealthError{Reason: ErrDegraded, Resources: degraded}
		}
		if report.Status().Settled() { // Healthy, or Suspended by intent
			return report, nil
		}
		select {
		case <-waitCtx.Done():
			if err := ctx.Err(); err != nil {
				return report, fmt.Errorf("waiting for health: %w", err)
			}
			if err := unread(report, readErrs); err != nil {
				return report, fmt.Errorf("waiting for health: the cluster could not be read: %w", err)
			}
			return report, &HealthError{Reason: ErrHealthTimeout, Resources: report.Unhealthy()}
		case <-time.After(interval):
		}
	}
}

// checkHealth looks at every object once. Objects of one kind in one
// namespace are listed together when there are many of them, so polling an
// app of hundreds of objects costs a few requests, not hundreds. An object
// that cannot be read is Unknown, with the reason: one flaky read must not
// fail the wait. errs[i] is why the i-th could not be read, if it could not.
func (s *Syncer) checkHealth(ctx context.Context, keys []manifest.Key, workers int) (report HealthReport, errs []error) {
	report = HealthReport{Resources: make([]ResourceHealth, len(keys))}
	errs = make([]error, len(keys))
	type scope struct {
		gk schema.GroupKind
		ns string
	}
	byScope := map[scope][]int{}
	var scopes []scope
	for i, k := range keys {
		sc := scope{schema.GroupKind{Group: k.Group, Kind: k.Kind}, k.Namespace}
		if _, ok := byScope[sc]; !ok {
			scopes = append(scopes, sc)
		}
		byScope[sc] = append(byScope[sc], i)
	}
	var singles []int
	var listed []scope
	for _, sc := range scopes {
		// Without a namespace a list would span them all: such keys go
		// one by one, to be told apart from cluster-scoped ones.
		if len(byScope[sc]) >= listThreshold && sc.ns != "" {
			listed = append(listed, sc)
		} else {
			singles = append(singles, byScope[sc]...)
		}
	}
	forEach(len(listed), workers, func(j int) {
		sc := listed[j]
		objs, err := s.listLive(ctx, sc.gk, sc.ns)
		for _, i := range byScope[sc] {
			k := keys[i]
			st := health.Check(objs[k.Name])
			if err != nil {
				st, errs[i] = health.Status{Code: health.Unknown, Message: err.Error()}, err
			}
			report.Resources[i] = ResourceHealth{Key: k, Status: st}
		}
	})
	forEach(len(singles), workers, func(j int) {
		k := keys[singles[j]]
		st, err := s.health(ctx, k)
		report.Resources[singles[j]], errs[singles[j]] = ResourceHealth{Key: k, Status: st}, err
	})
	return report, errs
}

// unread joins the read errors of the objects not healthy when each of them
// is one the cluster could not be asked about (Unavailable); nil when any
// was read, or failed to read for another reason.
func unread(report HealthReport, errs []error) error {
	var failed []error
	for i, r := range report.Resources {
		if r.Status.Code.Settled() {
			continue
		}
		if !Unavailable(errs[i]) {
			return nil
		}
		failed = append(failed, &ObjectError{Key: r.Key, Err: errs[i]})
	}
	return errors.Join(failed...)
}

// listLive lists the objects of a kind in a namespace ("" for cluster-scoped
// kinds), by name.
func (s *Syncer) listLive(ctx context.Context, gk schema.GroupKind, ns string) (map[string]*unstructured.Unstructured, error) {
	mapping, err := s.cluster.Mapper.RESTMapping(gk)
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", gk, err)
	}
	list, err := s.resourceClient(mapping, ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", mapping.Resource, err)
	}
	out := make(map[string]*unstructured.Unstructured, len(list.Items))
	for i := range list.Items {
		out[list.Items[i].GetName()] = &list.Items[i]
	}
	return out, nil
}

// health is k's health; err is why k could not be read, if it could not.
func (s *Syncer) health(ctx context.Context, k manifest.Key) (health.Status, error) {
	mapping, err := s.cluster.Mapper.RESTMapping(schema.GroupKind{Group: k.Group, Kind: k.Kind})
	if err != nil {
		return health.Status{Code: health.Unknown, Message: fmt.Sprintf("map kind: %v", err)}, fmt.Errorf("map kind: %w", err)
	}
	if k.Namespace == "" && mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return health.Status{Code: health.Unknown, Message: "key has no namespace: wait on the keys of the ChangeSet, which have the effective namespace"}, nil
	}
	live, err := s.resourceClient(mapping, k.Namespace).Get(ctx, k.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return health.Check(nil), nil
	case err != nil:
		return health.Status{Code: health.Unknown, Message: err.Error()}, err
	}
	return health.Check(live), nil
}
