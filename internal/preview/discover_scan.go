package preview

import (
	"bytes"
	"sort"
	"strings"
	"sync"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// maxScanSize bounds the files searched for argoproj.io, as discovery
// bounds the files it searches for Applications.
const maxScanSize = 1 << 20

// argoScan tells which files of a tree mention argoproj.io, each read once.
type argoScan struct {
	tree  *repofs.Tree
	files []string // sorted
	mu    sync.Mutex
	seen  map[string]bool
}

func newArgoScan(tree *repofs.Tree) *argoScan {
	files := append([]string(nil), tree.Files()...)
	sort.Strings(files)
	return &argoScan{tree: tree, files: files, seen: map[string]bool{}}
}

// mayDefine is the cheap test: whether env's inputs can produce Argo CD
// Applications, that is whether a file its render may read (other than
// the file defining it) mentions argoproj.io. An environment of another
// repository or a chart from a Helm repository defines none here; nor
// does one whose dependencies cannot be worked out (an unparsable
// kustomization or Chart.yaml), since its render fails on the same error,
// which the preview reports as that environment's.
func (x *appOfApps) mayDefine(env environment.Environment) bool {
	if env.External || env.Chart != nil {
		return false
	}
	deps, err := environment.Dependencies(x.tree, env)
	if err != nil {
		return false
	}
	for _, f := range deps.Files {
		if f != env.File && x.scan.mentions(f) {
			return true
		}
	}
	for _, dir := range deps.Dirs {
		if x.scan.under(dir) {
			return true
		}
	}
	return false
}

// under reports whether a file in dir (recursively), or dir itself as a
// file, mentions argoproj.io.
func (s *argoScan) under(dir string) bool {
	prefix := dir + "/"
	if dir == "" || dir == "." {
		prefix = ""
	}
	if s.mentions(dir) {
		return true
	}
	for i := sort.SearchStrings(s.files, prefix); i < len(s.files) && strings.HasPrefix(s.files[i], prefix); i++ {
		if s.mentions(s.files[i]) {
			return true
		}
	}
	return false
}

// mentions reports whether file exists, is small enough to hold
// Applications and mentions argoproj.io.
func (s *argoScan) mentions(file string) bool {
	s.mu.Lock()
	v, ok := s.seen[file]
	s.mu.Unlock()
	if ok {
		return v
	}
	v = s.read(file)
	s.mu.Lock()
	s.seen[file] = v
	s.mu.Unlock()
	return v
}

func (s *argoScan) read(file string) bool {
	if file == "" || !s.tree.Exists(file) || s.tree.IsDir(file) {
		return false
	}
	if size, err := s.tree.Size(file); err != nil || size > maxScanSize {
		return false
	}
	data, err := s.tree.ReadFile(file)
	return err == nil && bytes.Contains(data, []byte("argoproj.io"))
}
