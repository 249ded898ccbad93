package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/ferry-gitops/ferry/internal/repofs"
)

// reader is a render's only way to file contents: it applies the render's
// size limit, serves in-memory overrides of single files, refuses to read
// once the render is abandoned, and records every repository file it hands
// out. Under remoteDir it serves the fetched trees of remote bases
// (kustomize_remote.go), each confined to itself like the repository.
type reader struct {
	ctx    context.Context
	tree   *repofs.Tree
	limits Limits

	mu        sync.Mutex
	overrides map[string][]byte
	files     map[string]struct{}
	// bytes and reads count every read, repeats included: one 8 MiB file
	// named a hundred times by a generator is 800 MiB of work.
	bytes int64
	reads int
	// yamlOK remembers the files whose aliases were measured.
	yamlOK map[string]bool
	// mounts are the remote bases' trees by their name under remoteDir.
	mounts map[string]*mount
}

func newReader(ctx context.Context, tree *repofs.Tree, limits Limits) *reader {
	return &reader{ctx: ctx, tree: tree, limits: limits, overrides: map[string][]byte{}, files: map[string]struct{}{}, yamlOK: map[string]bool{}}
}

// override serves data instead of the tree's content for one file, so the
// render can edit a file (Argo CD's `kustomize edit`) without touching the tree.
func (r *reader) override(name string, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.overrides[name] = data
}

// read returns the content of a repository file (a clean, repo-relative path).
func (r *reader) read(name string) ([]byte, error) {
	if err := r.ctx.Err(); err != nil {
		return nil, fmt.Errorf("read %s: render abandoned: %w", name, err)
	}
	clean, err := repofs.Clean(name)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	data, ok := r.overrides[clean]
	r.mu.Unlock()
	if ok {
		r.recordLocal(clean)
		return data, r.charge(clean, int64(len(data)))
	}
	real, err := r.resolve(clean)
	if err != nil {
		return nil, err
	}
	tree, in, _ := r.at(real)
	if tree == nil {
		return nil, notExist(clean)
	}
	size, err := tree.Size(in)
	if err != nil {
		return nil, err
	}
	if max := r.limits.MaxFileSize; max > 0 && size > max {
		return nil, &fs.PathError{Op: "read", Path: clean, Err: fmt.Errorf("%w (%d bytes, limit %d)", repofs.ErrTooLarge, size, max)}
	}
	// Both names matter to callers, with every link between them (which
	// resolve recorded): a change to any of them changes what this render sees.
	r.recordLocal(clean, real)
	if err := r.charge(clean, size); err != nil {
		return nil, err
	}
	data, err = tree.ReadFile(in)
	if err != nil {
		return nil, err
	}
	if err := r.checkYAML(real, data); err != nil {
		return nil, err
	}
	return data, nil
}

// resolve returns the real path of name (a clean path) and records every
// symlink followed on the way, also when it fails: retargeting any of them
// changes what the render sees, although no file behind them may have been
// read. Links inside a remote base's tree resolve within that tree.
func (r *reader) resolve(name string) (string, error) {
	tree, in, m := r.at(name)
	if tree == nil {
		return "", notExist(name)
	}
	real, links, err := tree.ResolveLinks(in)
	if m == nil {
		r.record(links...)
	}
	if err != nil {
		return "", err
	}
	return m.path(real), nil
}

func notExist(name string) error {
	return &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// charge counts a read against the render's budgets of bytes and reads.
func (r *reader) charge(name string, size int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bytes += size
	r.reads++
	switch {
	case r.limits.MaxReadBytes > 0 && r.bytes > r.limits.MaxReadBytes:
		return &Error{File: name, Err: fmt.Errorf("the render read more than %s of files (a limit of ferry's)", FormatSize(r.limits.MaxReadBytes))}
	case r.limits.MaxFiles > 0 && r.reads > r.limits.MaxFiles:
		return &Error{File: name, Err: fmt.Errorf("the render read files more than %d times (a limit of ferry's)", r.limits.MaxFiles)}
	}
	return nil
}

// checkYAML measures a file's alias expansion once per render.
func (r *reader) checkYAML(real string, data []byte) error {
	r.mu.Lock()
	ok := r.yamlOK[real]
	r.mu.Unlock()
	if ok || r.limits.MaxYAMLNodes <= 0 {
		return nil
	}
	if err := checkAliases(real, data, r.limits.MaxYAMLNodes); err != nil {
		return err
	}
	r.mu.Lock()
	r.yamlOK[real] = true
	r.mu.Unlock()
	return nil
}

func (r *reader) record(names ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range names {
		r.files[n] = struct{}{}
	}
}

// list returns the files read so far, sorted.
func (r *reader) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.files))
	for n := range r.files {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// exists reports whether name exists in the tree or as an override.
func (r *reader) exists(name string) bool {
	r.mu.Lock()
	_, ok := r.overrides[name]
	r.mu.Unlock()
	tree, in, _ := r.at(name)
	return ok || (tree != nil && tree.Exists(in))
}

// isFile reports whether name is a readable non-directory entry.
func (r *reader) isFile(name string) bool {
	return r.exists(name) && !r.isDir(name)
}

// isDir reports whether name is a directory (symlinks followed).
func (r *reader) isDir(name string) bool {
	tree, in, _ := r.at(name)
	return tree != nil && tree.IsDir(in)
}

// readDir lists the names in a directory, sorted.
func (r *reader) readDir(name string) ([]string, error) {
	tree, in, _ := r.at(name)
	if tree == nil {
		return nil, notExist(name)
	}
	return tree.ReadDir(in)
}

// size is the size of a file, without reading it.
func (r *reader) size(name string) (int64, error) {
	tree, in, _ := r.at(name)
	if tree == nil {
		return 0, notExist(name)
	}
	return tree.Size(in)
}

// kustRoot is where kustomize believes the repository lives. kustomize works
// with absolute paths; giving it a virtual root (rather than "/") means a
// "../../.." that climbs out of the repository lands outside kustRoot and is
// refused, instead of being silently clamped back into the tree.
const kustRoot = "/ferry-repo"

// kustFS presents the tree to kustomize as a read-only filesys.FileSystem.
type kustFS struct {
	r *reader
}

var _ filesys.FileSystem = kustFS{}

var errReadOnly = errors.New("the repository is read-only during a render")

// rel maps kustomize's absolute path back to a repository path.
func (k kustFS) rel(p string) (string, error) {
	p = filepath.ToSlash(p)
	if !path.IsAbs(p) {
		p = path.Join(kustRoot, p)
	}
	p = path.Clean(p)
	if p == kustRoot {
		return ".", nil
	}
	if !strings.HasPrefix(p, kustRoot+"/") {
		return "", fmt.Errorf("%s: %w", p, repofs.ErrOutsideRoot)
	}
	return repofs.Clean(strings.TrimPrefix(p, kustRoot+"/"))
}

func kustAbs(rel string) string {
	if rel == "." || rel == "" {
		return kustRoot
	}
	return kustRoot + "/" + rel
}

func (k kustFS) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (k kustFS) Mkdir(string) error                  { return errReadOnly }
func (k kustFS) MkdirAll(string) error               { return errReadOnly }
func (k kustFS) RemoveAll(string) error              { return errReadOnly }
func (k kustFS) WriteFile(string, []byte) error      { return errReadOnly }

func (k kustFS) Open(p string) (filesys.File, error) {
	data, err := k.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return &memFile{Reader: bytes.NewReader(data), info: fileInfo{name: path.Base(p), size: int64(len(data))}}, nil
}

func (k kustFS) IsDir(p string) bool {
	rel, err := k.rel(p)
	return err == nil && k.r.isDir(rel)
}

func (k kustFS) ReadDir(p string) ([]string, error) {
	rel, err := k.rel(p)
	if err != nil {
		return nil, err
	}
	return k.r.readDir(rel)
}

// CleanedAbs splits a path into its directory and file name after following
// symlinks, like kustomize's on-disk implementation, so that a base reached
// through a link resolves its own relative paths from where it really lives.
func (k kustFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	rel, err := k.rel(p)
	if err != nil {
		return "", "", err
	}
	real, err := k.r.resolve(rel)
	if err != nil {
		return "", "", err
	}
	if k.r.isDir(real) {
		return filesys.ConfirmedDir(kustAbs(real)), "", nil
	}
	return filesys.ConfirmedDir(kustAbs(path.Dir(real))), path.Base(real), nil
}

func (k kustFS) Exists(p string) bool {
	rel, err := k.rel(p)
	return err == nil && k.r.exists(rel)
}

// Glob matches within one directory, which is all kustomize's loaders ask of it.
func (k kustFS) Glob(pattern string) ([]string, error) {
	dir, base := path.Split(filepath.ToSlash(pattern))
	names, err := k.ReadDir(path.Clean(dir))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, n := range names {
		ok, err := path.Match(base, n)
		if err != nil {
			return nil, err
		}
		if ok && (strings.HasPrefix(base, ".") || !strings.HasPrefix(n, ".")) {
			out = append(out, path.Join(dir, n))
		}
	}
	return out, nil
}

func (k kustFS) ReadFile(p string) ([]byte, error) {
	rel, err := k.rel(p)
	if err != nil {
		return nil, err
	}
	return k.r.read(rel)
}

func (k kustFS) Walk(p string, fn filepath.WalkFunc) error {
	rel, err := k.rel(p)
	if err != nil {
		return fn(p, nil, err)
	}
	err = k.walk(p, rel, fn, 0)
	if errors.Is(err, filepath.SkipDir) {
		return nil
	}
	return err
}

func (k kustFS) walk(p, rel string, fn filepath.WalkFunc, depth int) error {
	if depth > maxDirDepth {
		return fmt.Errorf("%s: directories nested too deeply (symlink loop?)", rel)
	}
	if !k.r.isDir(rel) {
		size, err := k.r.size(rel)
		return fn(p, fileInfo{name: path.Base(rel), size: size}, err)
	}
	if err := fn(p, fileInfo{name: path.Base(rel), dir: true}, nil); err != nil {
		return err
	}
	names, err := k.r.readDir(rel)
	if err != nil {
		return fn(p, fileInfo{name: path.Base(rel), dir: true}, err)
	}
	for _, n := range names {
		err := k.walk(path.Join(p, n), path.Join(rel, n), fn, depth+1)
		if err != nil && !errors.Is(err, filepath.SkipDir) {
			return err
		}
	}
	return nil
}

// maxDirDepth bounds directory walks: symlinks inside the tree can form loops.
const maxDirDepth = 64

// fileInfo describes a tree entry to code that wants an os.FileInfo
// (kustomize's walker, helm's .helmignore rules).
type fileInfo struct {
	name string
	size int64
	dir  bool
}

func (f fileInfo) Name() string { return f.name }
func (f fileInfo) Size() int64  { return f.size }
func (f fileInfo) Mode() os.FileMode {
	if f.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
func (f fileInfo) ModTime() time.Time { return time.Time{} }
func (f fileInfo) IsDir() bool        { return f.dir }
func (f fileInfo) Sys() any           { return nil }

// memFile is a read-only filesys.File over bytes already read.
type memFile struct {
	*bytes.Reader
	info fileInfo
}

func (m *memFile) Write([]byte) (int, error)  { return 0, errReadOnly }
func (m *memFile) Close() error               { return nil }
func (m *memFile) Stat() (os.FileInfo, error) { return m.info, nil }

// joinDir joins a file name to a clean repository directory.
func joinDir(dir, name string) string {
	if dir == "." || dir == "" {
		return name
	}
	return dir + "/" + name
}
