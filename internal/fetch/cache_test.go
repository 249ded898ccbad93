package fetch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/fetchtest"
)

// clock is a test's time, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestHTTPCacheHits(t *testing.T) {
	repo := versionsRepo(t)
	f := newFetcher(t, repo.URL())
	clk := newClock()
	f.now = clk.now
	ctx := context.Background()
	chart := func(version string) *Chart {
		t.Helper()
		ch, err := f.Chart(ctx, ChartRef{RepoURL: repo.URL(), Chart: "app", Version: version})
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	first := chart("1.2.3")
	repo.Reset()
	if again := chart("1.2.3"); again.Digest != first.Digest || again.Version != "1.2.3" {
		t.Fatalf("cached %s %s, want %s", again.Version, again.Digest, first.Digest)
	}
	if got := repo.Requests(); len(got) != 0 {
		t.Fatalf("an exact version fetched before sent %v", got)
	}

	// A range: the index is kept for IndexTTL; the archive for good.
	chart("^1.0.0")
	repo.Reset()
	clk.advance(IndexTTL / 2)
	if ch := chart("^1.0.0"); ch.Version != "1.2.3" {
		t.Fatalf("resolved to %s", ch.Version)
	}
	if got := repo.Requests(); len(got) != 0 {
		t.Fatalf("a range within the index's TTL sent %v", got)
	}
	clk.advance(IndexTTL)
	chart("^1.0.0")
	if got := repo.Requests(); len(got) != 1 || got[0] != fetchtest.RepoPath+"/index.yaml" {
		t.Fatalf("after the TTL: requests %v, want the index alone", got)
	}

	// A version published since the cached index is found by a new one.
	repo.AddChart("app", "1.9.0", nil)
	repo.Reset()
	if ch := chart("1.9.0"); ch.Version != "1.9.0" {
		t.Fatalf("got %s", ch.Version)
	}
}

func TestNoCacheDirKeepsNothing(t *testing.T) {
	repo := versionsRepo(t)
	f := newFetcherConfig(t, Config{}, repo.URL())
	for range 2 {
		repo.Reset()
		if _, err := f.Chart(context.Background(), ChartRef{RepoURL: repo.URL(), Chart: "app", Version: "1.2.3"}); err != nil {
			t.Fatal(err)
		}
		if got := repo.Requests(); len(got) != 2 {
			t.Fatalf("requests %v, want the index and the archive", got)
		}
	}
}

func TestFetchersShareCacheDir(t *testing.T) {
	repo := versionsRepo(t)
	dir := t.TempDir()
	ref := ChartRef{RepoURL: repo.URL(), Chart: "app", Version: "^4"}
	a := newFetcherConfig(t, Config{CacheDir: dir}, repo.URL())
	b := newFetcherConfig(t, Config{CacheDir: dir}, repo.URL())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 { // concurrent writers of the same entries
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := []*Fetcher{a, b}[i%2].Chart(context.Background(), ref)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	repo.Reset()
	c := newFetcherConfig(t, Config{CacheDir: dir}, repo.URL())
	for _, f := range []*Fetcher{a, b, c} {
		ch, err := f.Chart(context.Background(), ref)
		if err != nil || ch.Version != "4.8.2" {
			t.Fatalf("got %v, %v", ch, err)
		}
	}
	if got := repo.Requests(); len(got) != 0 {
		t.Fatalf("fetchers sharing a cache sent %v", got)
	}
	tmp, _ := filepath.Glob(filepath.Join(dir, cacheSubdir, tmpPrefix+"*"))
	if len(tmp) != 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}
}

func TestCacheLRU(t *testing.T) {
	clk := newClock()
	c, err := openCache(t.TempDir(), 300, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	put := func(key string) {
		t.Helper()
		clk.advance(time.Second)
		if err := c.put(key, []byte(strings.Repeat(key, 100))); err != nil {
			t.Fatal(err)
		}
	}
	has := func(key string) bool {
		b, err := os.ReadFile(c.file(key))
		return err == nil && len(b) == 100
	}
	put("a")
	put("b")
	put("c")
	clk.advance(time.Second)
	if _, ok := c.get("a"); !ok { // a is now the most recently used
		t.Fatal("a missing")
	}
	put("d") // over 300 bytes: b, the least recently used, goes
	for key, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if has(key) != want {
			t.Fatalf("%s kept = %v, want %v", key, !want, want)
		}
	}
	put("e")
	if has("c") || !has("a") || !has("d") || !has("e") {
		t.Fatal("want c evicted next")
	}
	if err := c.put("huge", make([]byte, 301)); err != nil || has("huge") {
		t.Fatal("an entry over the bound is not kept")
	}
	if !has("a") || !has("d") || !has("e") {
		t.Fatal("an entry over the bound evicted others")
	}
}

func TestCacheEvictsCharts(t *testing.T) {
	repo := fetchtest.NewChartRepo(t)
	for i := range 4 {
		repo.AddChart(fmt.Sprintf("c%d", i), "1.0.0", map[string]string{"files/blob": noise(20 << 10)})
	}
	dir := t.TempDir()
	f := newFetcherConfig(t, Config{CacheDir: dir, CacheBytes: 50 << 10}, repo.URL())
	clk := newClock()
	f.now = clk.now
	for i := range 4 {
		clk.advance(time.Second)
		if _, err := f.Chart(context.Background(), ChartRef{RepoURL: repo.URL(), Chart: fmt.Sprintf("c%d", i), Version: "1.0.0"}); err != nil {
			t.Fatal(err)
		}
	}
	var total int64
	entries, _ := os.ReadDir(filepath.Join(dir, cacheSubdir))
	for _, e := range entries {
		info, _ := e.Info()
		total += info.Size()
	}
	if total > 50<<10 {
		t.Fatalf("cache holds %d bytes, over its bound", total)
	}
	repo.Reset()
	if _, err := f.Chart(context.Background(), ChartRef{RepoURL: repo.URL(), Chart: "c3", Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	if got := repo.Requests(); len(got) != 0 {
		t.Fatalf("the newest chart was evicted: %v", got)
	}
	if _, err := f.Chart(context.Background(), ChartRef{RepoURL: repo.URL(), Chart: "c0", Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	if got := repo.Requests(); len(got) == 0 {
		t.Fatal("the oldest chart was not evicted")
	}
}

func TestCacheCorruptBlobIsAMiss(t *testing.T) {
	repo := versionsRepo(t)
	f := newFetcher(t, repo.URL())
	ref := ChartRef{RepoURL: repo.URL(), Chart: "app", Version: "1.0.0"}
	ch, err := f.Chart(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.cache.file(blobKey(ch.Digest)), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	repo.Reset()
	again, err := f.Chart(context.Background(), ref)
	if err != nil || again.Digest != ch.Digest || string(again.Archive) != string(ch.Archive) {
		t.Fatalf("got %v, %v", again, err)
	}
	if len(repo.Requests()) == 0 {
		t.Fatal("a corrupt cached archive was used")
	}
}

func TestCacheFresh(t *testing.T) {
	clk := newClock()
	c, err := openCache(t.TempDir(), 1<<20, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.putFresh("k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if b, ok := c.getFresh("k", time.Minute); !ok || string(b) != "v" {
		t.Fatalf("fresh entry: %q %v", b, ok)
	}
	clk.advance(time.Minute)
	if _, ok := c.getFresh("k", time.Minute); ok {
		t.Fatal("an entry a TTL old is still fresh")
	}
}

func TestCachedChartFromSourceNoLongerAllowed(t *testing.T) {
	repo := fetchtest.NewChartRepo(t)
	other := fetchtest.NewChartRepo(t)
	repo.AddChart("app", "1.0.0", nil)
	other.AddChart("app", "1.0.0", nil)
	repo.SetChartURL("app", "1.0.0", other.URL()+"/charts/app-1.0.0.tgz")
	repo.SetDigest("app", "1.0.0", "")
	dir := t.TempDir()
	ref := ChartRef{RepoURL: repo.URL(), Chart: "app", Version: "1.0.0"}
	both := newFetcherConfig(t, Config{CacheDir: dir}, repo.URL(), other.URL())
	if _, err := both.Chart(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	other.Reset()
	one := newFetcherConfig(t, Config{CacheDir: dir}, repo.URL())
	if _, err := one.Chart(context.Background(), ref); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("error %v: a cached archive from a URL no longer allowed was used", err)
	}
	if got := other.Requests(); len(got) != 0 {
		t.Fatalf("the server no longer allowed got %v", got)
	}
}
