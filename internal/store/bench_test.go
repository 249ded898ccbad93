package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/store"
)

func benchDB(b *testing.B) *store.DB {
	b.Helper()
	db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "ferry.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
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

	b.Run("sequential", func(b *testing.B) {
		db := benchDB(b)
		var n int64
		for b.Loop() {
			n++
			accept(b, db, n)
		}
		report(b)
	})
	b.Run("parallel", func(b *testing.B) {
		db := benchDB(b)
		var n atomic.Int64
		b.SetParallelism(4) // webhook requests arrive concurrently
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				accept(b, db, n.Add(1))
			}
		})
		report(b)
	})
}

// BenchmarkClaimComplete measures a worker's queue overhead per job: claim
// the oldest ready job, then mark it done.
func BenchmarkClaimComplete(b *testing.B) {
	ctx := context.Background()
	for _, keys := range []int{1, 100} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			db := benchDB(b)
			batch := make([]queue.Spec, 0, 500)
			for i := range b.N {
				batch = append(batch, queue.Spec{Kind: "preview", Key: fmt.Sprintf("octo/repo#%d", i%keys), Args: []byte(`{"pr":1}`)})
				if len(batch) == cap(batch) || i == b.N-1 {
					if err := db.Enqueue(ctx, batch...); err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
			}
			b.ResetTimer()
			for range b.N {
				j, err := db.Claim(ctx, "bench", time.Now(), time.Minute)
				if err != nil || j == nil {
					b.Fatalf("Claim = %v, %v", j, err)
				}
				if err := db.Complete(ctx, j.ID); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
		})
	}
}
