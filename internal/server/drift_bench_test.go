package server

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/store"
)

// BenchmarkDriftToHeal measures, through the real server and a real API
// server, the time from an out-of-band `kubectl scale`-style change of a
// tracked Deployment to (1) the drift being in the audit log and (2) the
// Deployment being back at Git's replicas (selfHeal). The heal backoff is
// reset between iterations (HealQuiet) so each one is a first drift.
func BenchmarkDriftToHeal(b *testing.B) {
	h := newSyncHarness(b, "healthy", func(c *Config) { c.HealQuiet = time.Nanosecond })
	h.push(strings.Repeat("0", 40), h.head, "push-1")
	h.waitFor("the first sync", func() bool { return last(h.deploymentStates("payment-service")) == "success" })
	db, err := store.Open(context.Background(), filepath.Join(h.dir, "ferry.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	drifts := func() int {
		events, _ := db.Audit(context.Background(), "", "payment-service")
		n := 0
		for _, e := range events {
			if e.Kind == "drift" {
				n++
			}
		}
		return n
	}
	var recorded, healed []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		before := drifts()
		t0 := time.Now()
		h.scaleAs("kubectl-scale", int64(5+i%3))
		var tDrift time.Duration
		for {
			if tDrift == 0 && drifts() > before {
				tDrift = time.Since(t0)
			}
			if tDrift != 0 && h.replicas() == 3 {
				break
			}
			if time.Since(t0) > time.Minute {
				b.Fatalf("iteration %d: no heal within a minute", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
		recorded = append(recorded, tDrift)
		healed = append(healed, time.Since(t0))
	}
	b.StopTimer()
	med := func(d []time.Duration) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return float64(d[len(d)/2].Microseconds()) / 1000
	}
	b.ReportMetric(med(recorded), "drift-recorded-p50-ms")
	b.ReportMetric(med(healed), "healed-p50-ms")
}
