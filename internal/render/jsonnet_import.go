package render

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sync"

	"github.com/google/go-jsonnet"

	"github.com/ferry-gitops/ferry/internal/repofs"
)

// jsonnetImporter resolves a Jsonnet import the way go-jsonnet's
// FileImporter does (next to the importing file, then the library paths,
// the last one first) but reads only through the render's reader: paths are
// repository paths, an absolute path or one that climbs out of the
// repository is refused, symlinks follow the tree's rules, and every read
// counts against the render's budgets and is recorded as read.
type jsonnetImporter struct {
	r *reader
	// jpaths are the library directories, in -J order: the source
	// directory first, then directory.jsonnet.libs.
	jpaths []string

	mu sync.Mutex
	// contents are the files imported so far, by the path they were found
	// at: go-jsonnet requires the same Contents for the same path, and a
	// file imported by many is read once.
	contents map[string]jsonnet.Contents
	// failure is the last error a read returned, kept as the cause of the
	// evaluation's error (go-jsonnet keeps only its message).
	failure error
}

func newJsonnetImporter(r *reader, jpaths []string) *jsonnetImporter {
	return &jsonnetImporter{r: r, jpaths: jpaths, contents: map[string]jsonnet.Contents{}}
}

// Import implements jsonnet.Importer. importedFrom is the importing file's
// repository path, or "" for the main file and external code (which then
// import from the repository root).
func (im *jsonnetImporter) Import(importedFrom, importedPath string) (jsonnet.Contents, string, error) {
	if path.IsAbs(importedPath) {
		return im.fail(fmt.Errorf("import %q: an absolute path reads outside the repository: %w", importedPath, repofs.ErrOutsideRoot))
	}
	dirs := []string{"."}
	if importedFrom != "" {
		dirs[0] = path.Dir(importedFrom)
	}
	for i := len(im.jpaths) - 1; i >= 0; i-- {
		dirs = append(dirs, im.jpaths[i])
	}
	for _, dir := range dirs {
		name, err := repofs.Join(dir, importedPath)
		if err != nil {
			return im.fail(fmt.Errorf("import %q from %s: %w", importedPath, dir, err))
		}
		c, err := im.load(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return im.fail(err)
		}
		return c, name, nil
	}
	return jsonnet.Contents{}, "", fmt.Errorf("couldn't open import %q: no match locally or in the Jsonnet library paths", importedPath)
}

// load reads one repository file once per render.
func (im *jsonnetImporter) load(name string) (jsonnet.Contents, error) {
	im.mu.Lock()
	c, ok := im.contents[name]
	im.mu.Unlock()
	if ok {
		return c, nil
	}
	if im.r.isDir(name) {
		return jsonnet.Contents{}, &fs.PathError{Op: "import", Path: name, Err: errors.New("is a directory")}
	}
	data, err := im.r.read(name)
	if err != nil {
		return jsonnet.Contents{}, err
	}
	c = jsonnet.MakeContentsRaw(data)
	im.mu.Lock()
	defer im.mu.Unlock()
	if prev, ok := im.contents[name]; ok {
		return prev, nil
	}
	im.contents[name] = c
	return c, nil
}

// known reports whether name is a file the importer served, as opposed to
// go-jsonnet's own names ("<std>", "<extvar:x>").
func (im *jsonnetImporter) known(name string) bool {
	im.mu.Lock()
	defer im.mu.Unlock()
	_, ok := im.contents[name]
	return ok
}

func (im *jsonnetImporter) fail(err error) (jsonnet.Contents, string, error) {
	im.mu.Lock()
	im.failure = err
	im.mu.Unlock()
	return jsonnet.Contents{}, "", err
}

// takeFailure returns and forgets the last read error.
func (im *jsonnetImporter) takeFailure() error {
	im.mu.Lock()
	defer im.mu.Unlock()
	err := im.failure
	im.failure = nil
	return err
}
