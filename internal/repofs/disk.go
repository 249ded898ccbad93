package repofs

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"sync"
)

// OpenDir reads a working directory as a tree. Files are read when asked
// for; ".git" is skipped. Symlinks are kept as links and resolved inside the
// tree like git's, so a link pointing outside the directory stays unreadable.
func OpenDir(dir string) (*Tree, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	entries := map[string]entry{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if name == "." {
			return nil
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		switch {
		case d.IsDir():
			entries[name] = entry{kind: kindDir}
		case d.Type()&fs.ModeSymlink != 0:
			entries[name] = entry{kind: kindSymlink}
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			entries[name] = entry{kind: kindFile, size: info.Size()}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read directory %s: %w", dir, err)
	}
	return newTree("", entries, &diskSource{root: root, ids: map[string]string{}}), nil
}

type diskSource struct {
	root string

	mu  sync.Mutex
	ids map[string]string
}

func (d *diskSource) load(name string, e entry) ([]byte, error) {
	full := filepath.Join(d.root, filepath.FromSlash(path.Clean(name)))
	if e.kind == kindSymlink {
		target, err := os.Readlink(full)
		if err != nil {
			return nil, err
		}
		return []byte(filepath.ToSlash(target)), nil
	}
	// Lstat again: the tree must not follow a file swapped for a symlink after the walk.
	info, err := os.Lstat(full)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is no longer a regular file", name)
	}
	return os.ReadFile(full)
}

// blobID hashes a file the way git does, so a working directory compares with
// a commit by id.
func (d *diskSource) blobID(name string) string {
	d.mu.Lock()
	id, ok := d.ids[name]
	d.mu.Unlock()
	if ok {
		return id
	}
	full := filepath.Join(d.root, filepath.FromSlash(name))
	var data []byte
	info, err := os.Lstat(full)
	if err != nil {
		return "missing"
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(full)
		if err != nil {
			return "missing"
		}
		data = []byte(filepath.ToSlash(target))
	} else if data, err = os.ReadFile(full); err != nil {
		return "missing"
	}
	h := sha1.New()
	h.Write([]byte("blob " + strconv.Itoa(len(data)) + "\x00"))
	h.Write(data)
	id = hex.EncodeToString(h.Sum(nil))
	d.mu.Lock()
	d.ids[name] = id
	d.mu.Unlock()
	return id
}

func (d *diskSource) close() error { return nil }
