package deploy

import (
	"time"

	"github.com/ferry-gitops/ferry/internal/backoff"
	"github.com/ferry-gitops/ferry/internal/environment"
)

// Retry is an Application's spec.syncPolicy.retry: up to Limit more
// attempts after the first, waiting by Backoff.
type Retry struct {
	Limit   int
	Backoff backoff.Exponential
}

// RetryPolicy reads env's retry policy with Argo CD's defaults (5s, factor
// 2, at most 3m); no retry block means no retries. A limit beyond maxLimit
// (what the queue will run) is capped to it.
func RetryPolicy(env environment.Environment, maxLimit int) Retry {
	r := Retry{Backoff: backoff.Exponential{Base: 5 * time.Second, Factor: 2, Max: 3 * time.Minute}}
	p := env.SyncPolicy
	if p == nil || p.Retry == nil {
		return r
	}
	r.Limit = int(p.Retry.Limit)
	if r.Limit < 0 || r.Limit > maxLimit {
		r.Limit = maxLimit // Argo CD reads a negative limit as "no limit"
	}
	if bo := p.Retry.Backoff; bo != nil {
		if d, err := time.ParseDuration(bo.Duration); err == nil && d > 0 {
			r.Backoff.Base = d
		}
		if bo.Factor != nil && *bo.Factor > 0 {
			r.Backoff.Factor = *bo.Factor
		}
		if d, err := time.ParseDuration(bo.MaxDuration); err == nil && d > 0 {
			r.Backoff.Max = d
		}
	}
	return r
}

// After is the wait before the attempt that follows failed attempt n
// (1-based), and whether the policy allows one.
func (r Retry) After(n int) (time.Duration, bool) {
	if n > r.Limit {
		return 0, false
	}
	return r.Backoff.Delay(n), true
}

// clusterBackoff spaces the attempts of a sync the cluster could not judge.
var clusterBackoff = backoff.Exponential{Base: 5 * time.Second, Factor: 2, Max: 2 * time.Minute}

// WaitForCluster is the wait before the attempt that follows the n-th
// (1-based) the cluster could not judge (Outcome.Unavailable): 5s, doubling
// up to 2m, with no limit. An outage is the cluster's, not the commit's: it
// uses up neither the Application's retries nor anything else, however long
// it lasts.
func WaitForCluster(n int) time.Duration {
	return clusterBackoff.Delay(max(n, 1))
}
