package deploy

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/ferry-gitops/ferry/internal/config"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/health"
	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/syncer"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// cluster is a scripted Cluster: the errors its calls return, and what it
// was asked.
type cluster struct {
	syncErr, healthErr error
	unhealthy          []syncer.ResourceHealth
	synced             []manifest.Object
	prev               syncer.Inventory
	timeout            time.Duration
	// hookTimeout is the bound the sync was given for each wave of hooks.
	hookTimeout time.Duration
}

func (c *cluster) Sync(_ context.Context, objs []manifest.Object, prev syncer.Inventory, opts syncer.Options) (*syncer.ChangeSet, syncer.Inventory, error) {
	c.synced, c.prev, c.hookTimeout = objs, prev, opts.HealthTimeout
	cs := &syncer.ChangeSet{App: opts.App}
	var inv syncer.Inventory
	for _, o := range objs {
		cs.Changes = append(cs.Changes, syncer.Change{Key: o.Key, Action: syncer.Configured})
		inv = append(inv, o.Key)
	}
	if c.syncErr != nil {
		return cs, nil, c.syncErr
	}
	return cs, inv, nil
}

func (c *cluster) WaitHealthy(_ context.Context, keys []manifest.Key, timeout time.Duration) (syncer.HealthReport, error) {
	c.timeout = timeout
	return syncer.HealthReport{Resources: c.unhealthy}, c.healthErr
}

const configMap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: demo\ndata:\n  a: b\n"

func TestRun(t *testing.T) {
	degraded := []syncer.ResourceHealth{{Key: manifest.Key{Kind: "ConfigMap", Namespace: "demo", Name: "app"}, Status: health.Status{Code: health.Degraded, Message: "crash loop"}}}
	unknown := []syncer.ResourceHealth{{Key: manifest.Key{Kind: "ConfigMap", Namespace: "demo", Name: "app"}, Status: health.Status{Code: health.Unknown, Message: "down"}}}
	webhook := apierrors.NewInternalError(errors.New(`failed calling webhook "check.ferry.test": failed to call webhook: Post "https://127.0.0.1:8443/validate": EOF`))
	invalid := apierrors.NewInvalid(schema.GroupKind{Kind: "ConfigMap"}, "app", field.ErrorList{field.Invalid(field.NewPath("data"), "x", "bad")})
	tests := []struct {
		name        string
		files       map[string]string
		cluster     cluster
		result      string
		retryable   bool
		unavailable bool
		inventory   bool
	}{
		{"applied and healthy", map[string]string{"app/cm.yaml": configMap}, cluster{}, history.Succeeded, false, false, true},
		{"does not render", map[string]string{"app/kustomization.yaml": "resources: [missing.yaml]\n"}, cluster{}, history.Failed, false, false, false},
		{"API server refuses", map[string]string{"app/cm.yaml": configMap}, cluster{syncErr: invalid}, history.Failed, true, false, false},
		{"cluster unavailable", map[string]string{"app/cm.yaml": configMap}, cluster{syncErr: &syncer.ApplyError{Errors: []*syncer.ObjectError{{Err: webhook}}}}, history.Failed, true, true, false},
		{"empty render refused", map[string]string{"app/cm.yaml": configMap}, cluster{syncErr: syncer.ErrEmptySync}, history.Refused, false, false, false},
		{"degraded", map[string]string{"app/cm.yaml": configMap}, cluster{healthErr: syncer.ErrDegraded, unhealthy: degraded}, history.Degraded, false, false, true},
		{"health unreadable", map[string]string{"app/cm.yaml": configMap}, cluster{healthErr: fmt.Errorf("waiting for health: %w", apierrors.NewServiceUnavailable("down")), unhealthy: unknown},
			history.Degraded, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := environment.Environment{Name: "demo", Type: environment.Directory, Path: "app", Destination: environment.Destination{Namespace: "demo"}}
			if _, ok := tt.files["app/kustomization.yaml"]; ok {
				env.Type = environment.Kustomize
			}
			c := tt.cluster
			out := Run(context.Background(), preview.InProcess{}, &c, Request{Tree: testrepo.Tree(t, tt.files), Env: env, Config: &config.Config{}, HealthTimeout: time.Minute})
			if out.Result != tt.result || out.Retryable != tt.retryable || out.Unavailable != tt.unavailable || (out.Inventory != nil) != tt.inventory {
				t.Errorf("result %s retryable %v unavailable %v inventory %v (err %v), want %s %v %v %v",
					out.Result, out.Retryable, out.Unavailable, out.Inventory, out.Err, tt.result, tt.retryable, tt.unavailable, tt.inventory)
			}
			if (out.Err == nil) != (tt.result == history.Succeeded) {
				t.Errorf("err %v with result %s", out.Err, out.Result)
			}
			if tt.result == history.Degraded && len(out.Unhealthy) != 1 {
				t.Errorf("unhealthy %v", out.Unhealthy)
			}
			if tt.result == history.Succeeded && c.timeout != time.Minute {
				t.Errorf("health waited %s, want the server's 1m", c.timeout)
			}
			if tt.result != history.Failed || tt.retryable {
				if c.hookTimeout != time.Minute { // sync hooks are bounded by the same timeout
					t.Errorf("the sync's hooks were bounded by %s, want the server's 1m", c.hookTimeout)
				}
			}
		})
	}
}

func TestRetryPolicy(t *testing.T) {
	factor := int64(2)
	seed := environment.Environment{SyncPolicy: &environment.SyncPolicy{Retry: &environment.Retry{Limit: 5,
		Backoff: &environment.Backoff{Duration: "5s", Factor: &factor, MaxDuration: "3m"}}}}
	tests := []struct {
		name string
		env  environment.Environment
		max  int
		want []time.Duration // waits after failed attempts 1, 2, ... until none
	}{
		{"the seed's", seed, 9, []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second}},
		{"capped by the queue", seed, 2, []time.Duration{5 * time.Second, 10 * time.Second}},
		{"no retry block", environment.Environment{}, 9, nil},
	}
	for _, tt := range tests {
		r := RetryPolicy(tt.env, tt.max)
		var got []time.Duration
		for n := 1; ; n++ {
			d, ok := r.After(n)
			if !ok {
				break
			}
			got = append(got, d)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: waits %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: waits %v, want %v", tt.name, got, tt.want)
			}
		}
	}
}

// TestRunCancelled: an attempt cut short by its own context is neither
// retried by the policy nor taken for an outage.
func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	env := environment.Environment{Name: "demo", Type: environment.Directory, Path: "app", Destination: environment.Destination{Namespace: "demo"}}
	c := cluster{syncErr: ctx.Err()}
	out := Run(ctx, preview.InProcess{}, &c, Request{Tree: testrepo.Tree(t, map[string]string{"app/cm.yaml": configMap}), Env: env, Config: &config.Config{}})
	if out.Retryable || out.Unavailable || out.Err == nil {
		t.Errorf("retryable %v unavailable %v err %v, want neither, with the error", out.Retryable, out.Unavailable, out.Err)
	}
}

func TestWaitForCluster(t *testing.T) {
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 2 * time.Minute, 2 * time.Minute}
	for i, w := range want {
		if got := WaitForCluster(i + 1); got != w {
			t.Errorf("WaitForCluster(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := WaitForCluster(10000); got != 2*time.Minute {
		t.Errorf("WaitForCluster(10000) = %v, want the 2m cap", got)
	}
	if got := WaitForCluster(0); got != 5*time.Second {
		t.Errorf("WaitForCluster(0) = %v, want 5s", got)
	}
}
