package project

import (
	"fmt"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// BenchmarkObjects: the project check of a 500-object render, as every
// preview and sync runs it.
func BenchmarkObjects(b *testing.B) {
	objs := make([]manifest.Object, 500)
	for i := range objs {
		objs[i] = manifest.New(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": fmt.Sprintf("cm-%d", i)}}, "all.yaml")
	}
	c, err := NewCatalog(nil, "ferry")
	if err != nil {
		b.Fatal(err)
	}
	e, err := c.For("acme/web", "", nil)
	if err != nil {
		b.Fatal(err)
	}
	scope := WithCRDs(objs, BuiltinScope)
	for b.Loop() {
		if v := e.Objects(inCluster, "web", objs, scope); len(v) != 0 {
			b.Fatal(v)
		}
	}
}

// BenchmarkSyncWindowOpens: finding when a closed allow window (weekdays
// 9:00 for 8h, checked on a Saturday night) lets a sync through.
func BenchmarkSyncWindowOpens(b *testing.B) {
	c, err := NewCatalog([]Project{{Name: "p", Repos: []string{"*"}, SyncWindows: []SyncWindow{
		{Kind: "allow", Schedule: "0 9 * * 1-5", Duration: "8h", Applications: []string{"*"}},
		{Kind: "deny", Schedule: "*/30 * * * *", Duration: "5m", Applications: []string{"*"}},
	}}}, "")
	if err != nil {
		b.Fatal(err)
	}
	e, _ := c.For("acme/web", "p", nil)
	now := time.Date(2026, 12, 5, 23, 0, 0, 0, time.UTC)
	for b.Loop() {
		if w := e.SyncWindow(now, "web", "web", prod, false); w.Opens.IsZero() {
			b.Fatal(w)
		}
	}
}
