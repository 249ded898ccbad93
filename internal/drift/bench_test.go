package drift

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// benchObjects is how many ConfigMaps the benchmark watches.
const benchObjects = 1000

// BenchmarkDetect measures, with DefaultOptions, the time from an
// out-of-band change (an Update as kubectl-edit, from the request being
// sent) to its Event, and the heap of watching benchObjects tracked
// ConfigMaps. Metrics: p50-ns (median detection latency; ns/op is the mean
// and includes reading the object to edit), heap-inuse-B (the process's
// heap in use once the informers synced) and watch-heap-B (its growth from
// starting the watcher).
func BenchmarkDetect(b *testing.B) {
	c := newCluster(b)
	app := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	var docs []string
	for i := range benchObjects {
		docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%04d\n  labels: {app: bench}\ndata:\n  k: v\n  other: x\n", i))
	}
	objs, err := manifest.Parse([]byte(strings.Join(docs, "---\n")), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	desired := &desiredState{}
	ns := syncApp(b, c, desired, app, "bench", objs)

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)

	w := NewWatcher(c, desired, DefaultOptions())
	if err := w.Track(app, []schema.GroupVersionKind{{Version: "v1", Kind: "ConfigMap"}}); err != nil {
		b.Fatalf("Track: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan Event, 16)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, events, nil) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("Run: %v", err)
		}
	}()
	syncCtx, cancelSync := context.WithTimeout(ctx, time.Minute)
	defer cancelSync()
	if !w.waitForSync(syncCtx) {
		b.Fatal("informers did not sync")
	}
	runtime.GC()
	runtime.ReadMemStats(&after)

	cms := c.Dynamic.Resource(configMaps).Namespace(ns)
	var latencies []time.Duration
	i := 0
	for b.Loop() {
		name := fmt.Sprintf("cm-%04d", i%benchObjects)
		u, err := cms.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		setData("k", fmt.Sprintf("edit-%d", i))(u)
		changed := time.Now()
		if _, err := cms.Update(ctx, u, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
			b.Fatal(err)
		}
		deadline := time.After(eventTimeout)
	wait:
		for {
			select {
			case ev := <-events:
				if ev.Key.Namespace == ns && ev.Key.Name == name {
					break wait
				}
			case <-deadline:
				b.Fatalf("no event for %s within %v", name, eventTimeout)
			}
		}
		latencies = append(latencies, time.Since(changed))
		i++
	}
	// After the loop: b.Loop's first call resets reported metrics.
	b.ReportMetric(float64(after.HeapInuse), "heap-inuse-B")
	b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse)), "watch-heap-B")
	slices.Sort(latencies)
	if len(latencies) > 0 {
		b.ReportMetric(float64(latencies[len(latencies)/2].Nanoseconds()), "p50-ns")
	}
}
