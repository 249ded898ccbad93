package repofs

import (
	"fmt"
	"sync"
)

// batchLoader is implemented by sources that can load many files in one
// round trip; the git source pipelines its requests to `git cat-file`.
type batchLoader interface {
	loadMany(names []string, entries []entry) ([][]byte, error)
}

// Prefetch loads, in one batch, every file for which want returns true and
// that is not cached yet, as far as the cache has room (the rest is read
// when asked for). Discovery reads hundreds of small manifests; one
// pipelined read instead of a round trip per file is what keeps a
// 500-environment repository fast on a busy machine.
func (t *Tree) Prefetch(want func(name string, size int64) bool) error {
	var names []string
	var entries []entry
	t.mu.Lock()
	room := t.MaxCacheBytes - t.cached
	for name, e := range t.entries {
		if e.kind != kindFile || (t.MaxFileSize > 0 && e.size > t.MaxFileSize) {
			continue
		}
		if _, ok := t.cache[name]; ok || e.size > room || !want(name, e.size) {
			continue
		}
		room -= e.size
		names = append(names, name)
		entries = append(entries, e)
	}
	t.mu.Unlock()
	if len(names) == 0 {
		return nil
	}
	bl, ok := t.src.(batchLoader)
	if !ok {
		return nil // files on disk are cheap to read one by one
	}
	data, err := bl.loadMany(names, entries)
	if err != nil {
		return fmt.Errorf("prefetch %d files: %w", len(names), err)
	}
	t.mu.Lock()
	for i, name := range names {
		t.keep(name, data[i])
	}
	t.mu.Unlock()
	return nil
}

// Memo returns the value computed by fn for key, computing it once per
// tree. A tree never changes, so what is derived from it (a parsed
// kustomization, say) stays valid for the tree's life.
func (t *Tree) Memo(key string, fn func() (any, error)) (any, error) {
	t.mu.Lock()
	if t.memo == nil {
		t.memo = map[string]*memoEntry{}
	}
	m, ok := t.memo[key]
	if !ok {
		m = &memoEntry{}
		t.memo[key] = m
	}
	t.mu.Unlock()
	m.once.Do(func() { m.val, m.err = fn() })
	return m.val, m.err
}

type memoEntry struct {
	once sync.Once
	val  any
	err  error
}
