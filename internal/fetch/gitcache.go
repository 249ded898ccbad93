package fetch

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// gitEntry is one commit's repository in the Git cache.
type gitEntry struct {
	path  string
	size  int64
	mtime time.Time
}

// evictGit removes the least recently used commits' repositories, never
// keep nor one used in the last gitRecent (a render in another process may
// be reading it), until the Git cache fits CacheBytes; it also clears
// temporary directories a dead fetch left. One process evicts at a time.
func (f *Fetcher) evictGit(root, keep string) {
	unlock, err := lockFile(context.Background(), filepath.Join(root, gitLockName), false)
	if err != nil {
		return // another process is evicting
	}
	defer unlock()
	now := f.clock()
	var all []gitEntry
	var total int64
	repos, _ := os.ReadDir(root)
	for _, repo := range repos {
		dir := filepath.Join(root, repo.Name())
		commits, _ := os.ReadDir(dir)
		for _, c := range commits {
			info, err := c.Info()
			p := filepath.Join(dir, c.Name())
			switch {
			case err != nil || !info.IsDir():
			case strings.HasPrefix(c.Name(), tmpPrefix):
				if now.Sub(info.ModTime()) > staleTemp {
					_ = os.RemoveAll(p)
				}
			case fullCommitRE.MatchString(c.Name()):
				e := gitEntry{path: p, size: dirSize(p), mtime: info.ModTime()}
				all = append(all, e)
				total += e.size
			}
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].mtime.Equal(all[j].mtime) {
			return all[i].mtime.Before(all[j].mtime)
		}
		return all[i].path < all[j].path
	})
	for _, e := range all {
		if total <= f.cfg.CacheBytes {
			return
		}
		if e.path == keep || now.Sub(e.mtime) < gitRecent {
			continue
		}
		// Renamed first, so no reader ever sees half a repository.
		gone := filepath.Join(filepath.Dir(e.path), tmpPrefix+"evicted-"+filepath.Base(e.path))
		if os.Rename(e.path, gone) == nil {
			_ = os.RemoveAll(gone)
			total -= e.size
		}
	}
}

// gitRecent is how long after its last use a commit stays in the cache
// whatever its size: longer than any render.
const gitRecent = 15 * time.Minute

// touch marks a commit's repository as just used.
func (f *Fetcher) touch(dir string) {
	t := f.clock()
	_ = os.Chtimes(dir, t, t) // recency only: failing costs an earlier eviction
}

func isDir(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}

// dirSize is the size of the files under dir; files vanishing meanwhile
// count as nothing.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
