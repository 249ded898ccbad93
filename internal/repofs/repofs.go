// Package repofs is a read-only view of a repository's files at one revision,
// read straight from git objects (no checkout) or from a working directory.
//
// Everything that renders untrusted pull requests reads through a Tree, so the
// rules that keep a render inside the repository live here: paths are
// slash-separated and relative to the root, ".." may not climb past the root,
// symlinks are followed only while they stay inside the tree, and files larger
// than the limit are refused.
package repofs

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
)

// DefaultMaxFileSize bounds a single file a render may read. Manifests and
// chart files are small; anything this large is an accident or an attack.
const DefaultMaxFileSize = 8 << 20

// DefaultMaxCacheBytes bounds the file contents a tree keeps in memory. A
// pull request can hold gigabytes of files; past this, reads go to git
// every time instead of growing the process.
const DefaultMaxCacheBytes = 32 << 20

// maxSymlinkHops bounds symlink chains so a loop fails instead of spinning.
const maxSymlinkHops = 16

// ErrOutsideRoot reports a path that would leave the repository.
var ErrOutsideRoot = errors.New("path leaves the repository root")

// ErrTooLarge reports a file over the size limit.
var ErrTooLarge = errors.New("file exceeds the size limit")

type entryKind uint8

const (
	kindFile entryKind = iota
	kindDir
	kindSymlink
)

type entry struct {
	kind entryKind
	size int64
	// id identifies the content: the git blob id for git trees and for files
	// on disk alike, so trees from either source compare by id.
	id string
}

// contentSource loads a file's bytes; git trees read blobs, disk trees read files.
type contentSource interface {
	load(name string, e entry) ([]byte, error)
	close() error
}

// Tree is an immutable snapshot of a repository's files. It is safe for
// concurrent use: renders of many environments share one Tree.
type Tree struct {
	// Revision is the commit the tree was read from, or "" for a working directory.
	Revision    string
	MaxFileSize int64
	// MaxCacheBytes bounds the contents kept in memory (DefaultMaxCacheBytes).
	MaxCacheBytes int64

	entries  map[string]entry // every file, dir and symlink, keyed by clean path; the root is "."
	children map[string][]string
	src      contentSource

	mu     sync.Mutex
	cache  map[string][]byte
	cached int64 // bytes in cache
	memo   map[string]*memoEntry
}

func newTree(rev string, entries map[string]entry, src contentSource) *Tree {
	t := &Tree{
		Revision:      rev,
		MaxFileSize:   DefaultMaxFileSize,
		MaxCacheBytes: DefaultMaxCacheBytes,
		entries:       entries,
		children:      map[string][]string{},
		src:           src,
		cache:         map[string][]byte{},
	}
	t.entries["."] = entry{kind: kindDir}
	// Git trees list files only; make sure every ancestor exists as a dir.
	for name := range entries {
		for dir := path.Dir(name); name != "."; dir = path.Dir(dir) {
			if _, ok := t.entries[dir]; !ok {
				t.entries[dir] = entry{kind: kindDir}
			}
			name = dir
		}
	}
	for name := range t.entries {
		if name == "." {
			continue
		}
		parent := path.Dir(name)
		t.children[parent] = append(t.children[parent], path.Base(name))
	}
	for _, c := range t.children {
		sort.Strings(c)
	}
	return t
}

// Close releases the process or handles behind the tree.
func (t *Tree) Close() error {
	if t == nil || t.src == nil {
		return nil
	}
	return t.src.close()
}

// Clean turns a repository path into the canonical form used as a key:
// slash-separated, relative, no "." or ".." elements. A leading "/" means the
// repository root. A path that would climb above the root is an error.
func Clean(name string) (string, error) {
	return Join(".", strings.TrimLeft(strings.ReplaceAll(name, "\\", "/"), "/"))
}

// Join joins elem onto a directory inside the tree and reports a path that
// leaves the root instead of silently clamping it (path.Clean would turn
// "a/../../x" into "x").
func Join(dir string, elem string) (string, error) {
	if path.IsAbs(elem) {
		return "", fmt.Errorf("%s: %w", elem, ErrOutsideRoot)
	}
	depth := 0
	if dir != "." && dir != "" {
		depth = strings.Count(path.Clean(dir), "/") + 1
	}
	for _, part := range strings.Split(elem, "/") {
		switch part {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return "", fmt.Errorf("%s from %s: %w", elem, dir, ErrOutsideRoot)
			}
		default:
			depth++
		}
	}
	return path.Clean(path.Join(dir, elem)), nil
}

// resolve follows symlinks in every element of name and returns the real
// path of the entry inside the tree.
func (t *Tree) resolve(name string) (string, entry, error) {
	real, e, err := t.resolveLinks(name, nil)
	if err != nil {
		return "", entry{}, err
	}
	return real, e, nil
}

// resolveLinks is resolve that appends to links, when it is not nil, every
// symlink entry it follows; then, when an element is missing, it also
// returns with the error the path the entry would have if it existed.
func (t *Tree) resolveLinks(name string, links *[]string) (string, entry, error) {
	clean, err := Clean(name)
	if err != nil {
		return "", entry{}, err
	}
	hops := 0
	// Walk element by element so a symlinked directory in the middle is followed too.
	resolved := "."
	parts := []string{}
	if clean != "." {
		parts = strings.Split(clean, "/")
	}
	for i := 0; i < len(parts); i++ {
		next := path.Join(resolved, parts[i])
		e, ok := t.entries[next]
		if !ok {
			var missing string
			if links != nil {
				missing = path.Join(append([]string{resolved}, parts[i:]...)...)
			}
			return missing, entry{}, &fs.PathError{Op: "open", Path: clean, Err: fs.ErrNotExist}
		}
		if e.kind != kindSymlink {
			resolved = next
			continue
		}
		if links != nil {
			*links = append(*links, next)
		}
		hops++
		if hops > maxSymlinkHops {
			return "", entry{}, &fs.PathError{Op: "open", Path: clean, Err: errors.New("too many levels of symbolic links")}
		}
		target, err := t.src.load(next, e)
		if err != nil {
			return "", entry{}, err
		}
		dest, err := Join(resolved, string(target))
		if err != nil {
			return "", entry{}, fmt.Errorf("symlink %s -> %s: %w", next, target, ErrOutsideRoot)
		}
		// Re-walk the target and the remaining elements from the root.
		rest := append(strings.Split(dest, "/"), parts[i+1:]...)
		if dest == "." {
			rest = parts[i+1:]
		}
		parts, resolved, i = rest, ".", -1
	}
	return resolved, t.entries[resolved], nil
}

// ReadFile returns a file's content, following symlinks inside the tree.
func (t *Tree) ReadFile(name string) ([]byte, error) {
	real, e, err := t.resolve(name)
	if err != nil {
		return nil, err
	}
	if e.kind == kindDir {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	if t.MaxFileSize > 0 && e.size > t.MaxFileSize {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%w (%d bytes, limit %d)", ErrTooLarge, e.size, t.MaxFileSize)}
	}
	t.mu.Lock()
	data, ok := t.cache[real]
	t.mu.Unlock()
	if ok {
		return data, nil
	}
	data, err = t.src.load(real, e)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	t.mu.Lock()
	t.keep(real, data)
	t.mu.Unlock()
	return data, nil
}

// keep caches data while the cache has room; t.mu must be held.
func (t *Tree) keep(name string, data []byte) {
	if _, ok := t.cache[name]; ok || t.cached+int64(len(data)) > t.MaxCacheBytes {
		return
	}
	t.cache[name] = data
	t.cached += int64(len(data))
}

// Resolve returns the real path of name after following symlinks.
func (t *Tree) Resolve(name string) (string, error) {
	real, _, err := t.resolve(name)
	return real, err
}

// ResolveLinks is Resolve that also returns every symlink followed on the
// way, in order: the entries whose change (retargeting a link anywhere in a
// chain) changes what name is. On error the links followed so far are
// returned, and for a missing entry also the path it would have, so that a
// caller can depend on its appearing.
func (t *Tree) ResolveLinks(name string) (real string, links []string, err error) {
	real, _, err = t.resolveLinks(name, &links)
	return real, links, err
}

// Exists reports whether name exists (after following symlinks).
func (t *Tree) Exists(name string) bool {
	_, _, err := t.resolve(name)
	return err == nil
}

// IsDir reports whether name is a directory (after following symlinks).
func (t *Tree) IsDir(name string) bool {
	_, e, err := t.resolve(name)
	return err == nil && e.kind == kindDir
}

// ReadDir lists the names directly inside a directory, sorted.
func (t *Tree) ReadDir(name string) ([]string, error) {
	real, e, err := t.resolve(name)
	if err != nil {
		return nil, err
	}
	if e.kind != kindDir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return append([]string(nil), t.children[real]...), nil
}

// Files returns every regular file and symlink path in the tree, sorted.
func (t *Tree) Files() []string {
	out := make([]string, 0, len(t.entries))
	for name, e := range t.entries {
		if e.kind != kindDir {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Size returns the size in bytes of the file at name, without reading it.
func (t *Tree) Size(name string) (int64, error) {
	_, e, err := t.resolve(name)
	return e.size, err
}

// Changed lists the paths whose content or presence differs between two
// trees, sorted. Both trees identify content by git blob id, so a git tree
// compares with a working directory without reading unchanged files twice.
func Changed(base, head *Tree) []string {
	seen := map[string]bool{}
	var out []string
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for name, e := range base.entries {
		if e.kind == kindDir {
			continue
		}
		h, ok := head.entries[name]
		if !ok || h.kind != e.kind || head.id(name, h) != base.id(name, e) {
			add(name)
		}
	}
	for name, e := range head.entries {
		if e.kind == kindDir {
			continue
		}
		if _, ok := base.entries[name]; !ok {
			add(name)
		}
	}
	sort.Strings(out)
	return out
}

func (t *Tree) id(name string, e entry) string {
	if e.id != "" {
		return e.id
	}
	if d, ok := t.src.(*diskSource); ok {
		return d.blobID(name)
	}
	return ""
}
