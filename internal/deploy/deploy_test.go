package deploy

import (
	"context"
	"errors"
	"testing"
	"time"

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
}

func (c *cluster) Sync(_ context.Context, objs []manifest.Object, prev syncer.Inventory, opts syncer.Options) (*syncer.ChangeSet, syncer.Inventory, error) {
	c.synced, c.prev = objs, prev
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
	tests := []struct {
		name      string
		files     map[string]string
		cluster   cluster
		result    string
		retryable bool
		inventory bool
	}{
		{"applied and healthy", map[string]string{"app/cm.yaml": configMap}, cluster{}, history.Succeeded, false, true},
		{"does not render", map[string]string{"app/kustomization.yaml": "resources: [missing.yaml]\n"}, cluster{}, history.Failed, false, false},
		{"API server refuses", map[string]string{"app/cm.yaml": configMap}, cluster{syncErr: errors.New("invalid: replicas")}, history.Failed, true, false},
		{"empty render refused", map[string]string{"app/cm.yaml": configMap}, cluster{syncErr: syncer.ErrEmptySync}, history.Refused, false, false},
		{"degraded", map[string]string{"app/cm.yaml": configMap}, cluster{healthErr: syncer.ErrDegraded, unhealthy: degraded}, history.Degraded, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := environment.Environment{Name: "demo", Type: environment.Directory, Path: "app", Destination: environment.Destination{Namespace: "demo"}}
			if _, ok := tt.files["app/kustomization.yaml"]; ok {
				env.Type = environment.Kustomize
			}
			c := tt.cluster
			out := Run(context.Background(), preview.InProcess{}, &c, Request{Tree: testrepo.Tree(t, tt.files), Env: env, Config: &config.Config{}, HealthTimeout: time.Minute})
			if out.Result != tt.result || out.Retryable != tt.retryable || (out.Inventory != nil) != tt.inventory {
				t.Errorf("result %s retryable %v inventory %v (err %v), want %s %v %v", out.Result, out.Retryable, out.Inventory, out.Err, tt.result, tt.retryable, tt.inventory)
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
