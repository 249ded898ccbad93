package fetch

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

const (
	// cacheSubdir is the content cache's directory under CacheDir.
	cacheSubdir = "content"
	// tmpPrefix names files still being written; no reader opens them.
	tmpPrefix = ".tmp-"
	// staleTemp is when a temporary file is taken as left by a process
	// that died while writing it.
	staleTemp = time.Hour
	// IndexTTL is how long a repository's index (or a registry's tag list)
	// is reused before a range is resolved against a fresh one; Argo CD
	// keeps Helm indexes as long.
	IndexTTL = 5 * time.Minute
)

// cache is a content cache on disk: entries are named by the SHA-256 of
// their key, written to a temporary file and renamed into place, so every
// process sharing the directory sees a whole entry or none. It is bounded
// by size: after each store the least recently used entries (oldest
// modification time; a hit touches the entry) go until it fits. With no
// directory it keeps nothing.
type cache struct {
	dir   string
	limit int64
	now   func() time.Time
	// mu keeps this process's evictions from racing one another; other
	// processes' evictions are harmless (a missing file is a miss).
	mu sync.Mutex
}

func openCache(dir string, limit int64, now func() time.Time) (*cache, error) {
	if dir == "" {
		return &cache{now: now}, nil
	}
	d := filepath.Join(dir, cacheSubdir)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return nil, err // *PathError names the directory
	}
	return &cache{dir: d, limit: limit, now: now}, nil
}

func (c *cache) file(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(c.dir, hex.EncodeToString(sum[:]))
}

// get returns the entry under key and marks it as just used.
func (c *cache) get(key string) ([]byte, bool) {
	if c.dir == "" {
		return nil, false
	}
	p := c.file(key)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	t := c.now()
	_ = os.Chtimes(p, t, t) // recency only: failing costs an earlier eviction
	return b, true
}

// put stores data under key, replacing what was there, then evicts down
// to the size bound. An entry larger than the bound is not kept.
func (c *cache) put(key string, data []byte) error {
	if c.dir == "" || int64(len(data)) > c.limit {
		return nil
	}
	p := c.file(key)
	tmp, err := os.CreateTemp(c.dir, tmpPrefix+"*")
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	t := c.now()
	if werr == nil {
		werr = os.Chtimes(tmp.Name(), t, t)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), p)
	}
	if werr != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("cache: %w", werr)
	}
	return c.evict(p)
}

// remove drops the entry under key (one found corrupt).
func (c *cache) remove(key string) {
	if c.dir != "" {
		_ = os.Remove(c.file(key))
	}
}

type cacheFile struct {
	path  string
	size  int64
	mtime time.Time
}

// evict removes the least recently used entries, never keep, until the
// directory fits the bound; it also clears temporary files left behind.
func (c *cache) evict(keep string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	var files []cacheFile
	var total int64
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue // removed meanwhile by another process
		}
		p := filepath.Join(c.dir, e.Name())
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			if time.Since(info.ModTime()) > staleTemp {
				_ = os.Remove(p)
			}
			continue
		}
		files = append(files, cacheFile{path: p, size: info.Size(), mtime: info.ModTime()})
		total += info.Size()
	}
	if total <= c.limit {
		return nil
	}
	sort.Slice(files, func(i, j int) bool {
		if !files[i].mtime.Equal(files[j].mtime) {
			return files[i].mtime.Before(files[j].mtime)
		}
		return files[i].path < files[j].path
	})
	for _, f := range files {
		if total <= c.limit {
			break
		}
		if f.path == keep {
			continue
		}
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cache: evict: %w", err)
		}
		total -= f.size
	}
	return nil
}

// putFresh stores data with the time it was fetched, for getFresh.
func (c *cache) putFresh(key string, data []byte) error {
	b := make([]byte, 8, 8+len(data))
	binary.BigEndian.PutUint64(b, uint64(c.now().UnixNano()))
	return c.put(key, append(b, data...))
}

// getFresh returns what putFresh stored under key if it was fetched less
// than ttl ago.
func (c *cache) getFresh(key string, ttl time.Duration) ([]byte, bool) {
	b, ok := c.get(key)
	if !ok || len(b) < 8 {
		return nil, false
	}
	at := time.Unix(0, int64(binary.BigEndian.Uint64(b[:8])))
	if age := c.now().Sub(at); age < 0 || age >= ttl {
		return nil, false
	}
	return b[8:], true
}

// getJSON decodes the entry under key into v; a corrupt entry is a miss.
func (c *cache) getJSON(key string, v any, ttl time.Duration) bool {
	var b []byte
	var ok bool
	if ttl > 0 {
		b, ok = c.getFresh(key, ttl)
	} else {
		b, ok = c.get(key)
	}
	return ok && json.Unmarshal(b, v) == nil
}

// putJSON stores v under key, with its fetch time when fresh.
func (c *cache) putJSON(key string, v any, fresh bool) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	if fresh {
		return c.putFresh(key, b)
	}
	return c.put(key, b)
}

// chartRecord maps an exact chart version to the archive it resolved to
// and where that was downloaded from.
type chartRecord struct {
	Version string `json:"version"`
	Digest  string `json:"digest"`
	Source  string `json:"source,omitempty"`
	// Keyring is the keyringFile whose provenance check the archive
	// passed ("" when its repository asked for none).
	Keyring string `json:"keyring,omitempty"`
}

func chartKey(repoURL, chart, version string) string {
	return "chart\x00" + Normalize(repoURL) + "\x00" + chart + "\x00" + version
}

func blobKey(digest string) string { return "blob\x00" + digest }

// cachedChart returns the archive an earlier fetch of exactly this
// version found, checked against its digest; ok is false on a miss.
func (f *Fetcher) cachedChart(ref ChartRef, version string) (*Chart, bool) {
	var rec chartRecord
	if !f.cache.getJSON(chartKey(ref.RepoURL, ref.Chart, version), &rec, 0) {
		return nil, false
	}
	if rec.Source != "" {
		if _, err := f.cfg.Repositories.Match(rec.Source); err != nil {
			return nil, false // no longer allowed: the fetch says so
		}
	}
	if k := f.keyring(ref.RepoURL); k != "" && rec.Keyring != k {
		return nil, false // not verified with the keyring its repository now asks for
	}
	archive, ok := f.cache.get(blobKey(rec.Digest))
	if !ok {
		return nil, false
	}
	if digestOf(archive) != rec.Digest {
		f.cache.remove(blobKey(rec.Digest))
		return nil, false
	}
	return &Chart{Ref: ref, Version: rec.Version, Digest: rec.Digest, Archive: archive}, true
}

// storeChart keeps ch, downloaded from source, for cachedChart under the
// version it was asked as and the one it resolved to. The cache is best
// effort: a failure to write it costs a download next time, never this
// fetch.
func (f *Fetcher) storeChart(ch *Chart, asked, source string) {
	if f.cache.put(blobKey(ch.Digest), ch.Archive) != nil {
		return
	}
	rec := chartRecord{Version: ch.Version, Digest: ch.Digest, Source: source, Keyring: f.keyring(ch.Ref.RepoURL)}
	_ = f.cache.putJSON(chartKey(ch.Ref.RepoURL, ch.Ref.Chart, ch.Version), rec, false)
	if asked != ch.Version && isExact(asked) {
		_ = f.cache.putJSON(chartKey(ch.Ref.RepoURL, ch.Ref.Chart, asked), rec, false)
	}
}

// digestOf is b's "sha256:…" digest.
func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
