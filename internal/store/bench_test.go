package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/pgtest"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/store"
)

// benchSetups are the stores compared: SQLite (one process), PostgreSQL
// with one replica, and PostgreSQL with two (two handles on one database,
// the work spread over both).
var benchSetups = []struct {
	name     string
	target   func(testing.TB) string
	replicas int
}{
	{"sqlite", func(t testing.TB) string { return filepath.Join(t.TempDir(), "ferry.db") }, 1},
	{"postgres", pgtest.URL, 1},
	{"postgres-2-replicas", pgtest.URL, 2},
}

// benchDBs opens n handles on one new database at target.
func benchDBs(b *testing.B, target string, n int) []*store.DB {
	b.Helper()
	var dbs []*store.DB
	for range n {
		db, err := store.Open(context.Background(), target)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = db.Close() })
		dbs = append(dbs, db)
	}
	return dbs
}

// webhookJobs is what a pull_request synchronize delivery typically enqueues.
func webhookJobs(pr int) []queue.Spec {
	key := fmt.Sprintf("octo/repo#%d", pr)
	args := fmt.Appendf(nil, `{"repo":"octo/repo","pr":%d,"head":"4f1c2a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39","base":"main"}`, pr)
	return []queue.Spec{
		{Kind: "preview", Key: key, Args: args, Supersede: true},
		{Kind: "status", Key: key, Args: args},
	}
}

// BenchmarkAccept measures the webhook intake path: one committed
// transaction per delivery recording the delivery id and its jobs.
func BenchmarkAccept(b *testing.B) {
	ctx := context.Background()
	accept := func(b *testing.B, db *store.DB, n int64) {
		d := queue.Delivery{
			ID: fmt.Sprintf("72d3162e-cc78-11e3-81ab-%012d", n), Event: "pull_request", Action: "synchronize",
			Repo: "octo/repo", InstallationID: 42, ReceivedAt: time.Now(),
		}
		dup, err := db.Accept(ctx, d, webhookJobs(int(n%50)))
		if err != nil || dup {
			b.Fatalf("Accept: duplicate=%v err=%v", dup, err)
		}
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
	}

	for _, setup := range benchSetups {
		b.Run(setup.name+"/sequential", func(b *testing.B) {
			dbs := benchDBs(b, setup.target(b), setup.replicas)
			var n int64
			for b.Loop() {
				n++
				accept(b, dbs[n%int64(len(dbs))], n)
			}
			report(b)
		})
		b.Run(setup.name+"/parallel", func(b *testing.B) {
			dbs := benchDBs(b, setup.target(b), setup.replicas)
			var n, goroutines atomic.Int64
			b.SetParallelism(4) // webhook requests arrive concurrently
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				db := dbs[goroutines.Add(1)%int64(len(dbs))]
				for pb.Next() {
					accept(b, db, n.Add(1))
				}
			})
			report(b)
		})
	}
}

// BenchmarkClaimComplete measures a worker's queue overhead per job: claim
// the oldest ready job, then mark it done.
func BenchmarkClaimComplete(b *testing.B) {
	ctx := context.Background()
	for _, setup := range benchSetups {
		for _, keys := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/keys=%d", setup.name, keys), func(b *testing.B) {
				dbs := benchDBs(b, setup.target(b), setup.replicas)
				enqueueBench(b, dbs[0], keys)
				b.ResetTimer()
				claimAll(b, ctx, dbs)
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
			})
		}
	}
}

// enqueueBench queues b.N jobs over keys keys.
func enqueueBench(b *testing.B, db *store.DB, keys int) {
	batch := make([]queue.Spec, 0, 500)
	for i := range b.N {
		batch = append(batch, queue.Spec{Kind: "preview", Key: fmt.Sprintf("octo/repo#%d", i%keys), Args: []byte(`{"pr":1}`)})
		if len(batch) == cap(batch) || i == b.N-1 {
			if err := db.Enqueue(context.Background(), batch...); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// claimAll runs b.N jobs: one worker per handle, each claiming and
// completing until the queue is empty.
func claimAll(b *testing.B, ctx context.Context, dbs []*store.DB) {
	var done atomic.Int64
	var wg sync.WaitGroup
	for w, db := range dbs {
		wg.Go(func() {
			for done.Load() < int64(b.N) {
				j, err := db.Claim(ctx, fmt.Sprintf("bench-%d", w), time.Now(), time.Minute)
				if err != nil {
					b.Error(err)
					return
				}
				if j == nil {
					continue // the other replica holds the key's job
				}
				if err := db.Complete(ctx, j.ID); err != nil {
					b.Error(err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
}
